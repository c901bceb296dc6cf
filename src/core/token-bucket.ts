// Per-client rate limit (DESIGN.md "Infrastructure"): a token bucket per client IP that starts with
// `burst` tokens, refills maxRequests per windowMs, and gives one token per new connection. A bucket is
// one number, tat: the time at which it is full again (GCRA), so one take is one compare-and-swap in the
// shared WASM table (assembly/token-bucket.ts computes the same f64 operations, so both agree bit for
// bit). Per take, with T = windowMs / maxRequests:
//     base = max(tat, now); next = base + T
//     allowed = next - now <= T * (burst + TOKEN_SLACK); if allowed: tat = next
// tat <= now is a full bucket, the same as a new one. A clock step back refills nothing (base stays
// tat). TOKEN_SLACK, a thousandth of a token, absorbs the rounding of adding T to times near 1.7e12 ms.
// TokenBucketReference keeps every client (unbounded): the oracle; the WASM table is fixed in size and
// reclaims refilled buckets.
import { encodeIpKey } from "./ip-key.ts";

export interface RateLimitSettings {
  readonly enabled: boolean;
  readonly maxRequests: number;
  readonly windowMs: number;
  readonly burst: number;
}

/** What the data path needs from a rate limiter. */
export interface ClientBuckets {
  /** One token for a new connection of `ip` at `nowMs`: true = allowed. */
  takeToken(ip: string, nowMs: number, settings: RateLimitSettings): boolean;
}

/** A thousandth of a token (assembly/token-bucket.ts has the same). */
export const TOKEN_SLACK = 1 / 1024;

export class TokenBucketReference implements ClientBuckets {
  /** Client key → tat. */
  readonly #buckets = new Map<string, number>();
  readonly #key = new Uint8Array(16);

  get size(): number {
    return this.#buckets.size;
  }

  takeToken(ip: string, nowMs: number, settings: RateLimitSettings): boolean {
    encodeIpKey(ip, this.#key);
    const id = Array.from(this.#key, (b) => b.toString(16).padStart(2, "0")).join("");
    const tat = this.#buckets.get(id) ?? 0;
    const t = settings.windowMs / settings.maxRequests;
    const next = (tat > nowMs ? tat : nowMs) + t;
    const allowed = next - nowMs <= t * (settings.burst + TOKEN_SLACK);
    if (allowed) this.#buckets.set(id, next);
    else if (!this.#buckets.has(id)) this.#buckets.set(id, tat);
    return allowed;
  }
}

// Per-client rate limit (DESIGN.md "Infrastructure"): a token bucket per client IP that starts with
// `burst` tokens, refills maxRequests per windowMs, and gives one token per new connection. The bucket
// keeps its deficit (burst - tokens), and on every take, in this order (the WASM core,
// assembly/token-bucket.ts, computes the same f64 operations, so both agree bit for bit):
//     deficit = max(0, deficit - elapsed * maxRequests / windowMs)    elapsed = max(0, now - last)
//     allowed = deficit + 1 <= burst; if allowed: deficit += 1;       last = max(last, now)
// A refilled bucket (deficit 0) is the same as a new one. TokenBucketReference keeps every client
// (unbounded): the oracle; the WASM table is fixed in size and reclaims refilled buckets.
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

export class TokenBucketReference implements ClientBuckets {
  readonly #buckets = new Map<string, { deficit: number; lastMs: number }>();
  readonly #key = new Uint8Array(16);

  get size(): number {
    return this.#buckets.size;
  }

  takeToken(ip: string, nowMs: number, settings: RateLimitSettings): boolean {
    encodeIpKey(ip, this.#key);
    const id = Array.from(this.#key, (b) => b.toString(16).padStart(2, "0")).join("");
    let bucket = this.#buckets.get(id);
    if (bucket === undefined) {
      bucket = { deficit: 0, lastMs: nowMs };
      this.#buckets.set(id, bucket);
    }
    const elapsed = nowMs > bucket.lastMs ? nowMs - bucket.lastMs : 0;
    const deficit = Math.max(0, bucket.deficit - elapsed * settings.maxRequests / settings.windowMs);
    if (nowMs > bucket.lastMs) bucket.lastMs = nowMs;
    const allowed = deficit + 1 <= settings.burst;
    bucket.deficit = allowed ? deficit + 1 : deficit;
    return allowed;
  }
}

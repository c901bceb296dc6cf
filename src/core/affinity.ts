// Client → backend bindings with a sliding TTL (DESIGN.md "Affinity"). Pure: every call takes the time.
// Two implementations: the shared table in the WASM core (assembly/affinity.ts, production: every worker
// sees every binding) and AffinityReference below (the oracle of the differential tests).
//
// Policy, both alike:
//   - a client is its 16-byte address (ip-key.ts): "::ffff:1.2.3.4" and "1.2.3.4" are one client;
//   - a binding names a slot and that slot's incarnation: once the backend leaves, the binding is dead;
//   - an expired binding is never returned, even before gc() has removed it; the TTL slides on use
//     (to max(expiry, now + ttl));
//   - bind() keeps a live binding whose backend is the same slot or still a candidate — the first worker
//     to bind a client wins — and replaces any other; it returns the slot the client is bound to.
import { encodeIpKey } from "./ip-key.ts";

export interface AffinityBindings {
  /** The slot a client is bound to (TTL slid forward), or -1: none, expired, or its backend left. */
  lookup(client: string, nowMs: number): number;
  /** Bind the client to `slot` unless a live binding to a candidate stands; the slot bound afterwards. */
  bind(client: string, slot: number, nowMs: number): number;
  /** Drop the client's binding if it names `slot`; true when one was dropped. */
  unbind(client: string, slot: number): boolean;
  /** Remove expired bindings; returns how many. */
  gc(nowMs: number): number;
  /** Bindings held (live, or expired and not yet collected). */
  readonly size: number;
}

/** What a binding is checked against: the slot's current incarnation and whether it is a candidate. */
export interface SlotIdentity {
  incarnation(slot: number): number;
  isCandidate(slot: number): boolean;
}

interface Entry {
  slot: number;
  incarnation: number;
  expiresAt: number;
}

export class AffinityReference implements AffinityBindings {
  // Map keeps insertion order: when full, the first entries are the least recently bound.
  readonly #entries = new Map<string, Entry>();
  readonly #key = new Uint8Array(16);

  readonly slots: SlotIdentity;
  readonly ttlMs: number;
  readonly maxEntries: number;
  constructor(slots: SlotIdentity, ttlMs: number, maxEntries: number) {
    this.slots = slots;
    this.ttlMs = ttlMs;
    this.maxEntries = maxEntries;
  }

  get size(): number {
    return this.#entries.size;
  }

  #id(client: string): string {
    encodeIpKey(client, this.#key);
    return Array.from(this.#key, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  #live(e: Entry, nowMs: number): boolean {
    return e.expiresAt > nowMs && this.slots.incarnation(e.slot) === e.incarnation;
  }

  lookup(client: string, nowMs: number): number {
    const e = this.#entries.get(this.#id(client));
    if (e === undefined || !this.#live(e, nowMs)) return -1;
    e.expiresAt = Math.max(e.expiresAt, nowMs + this.ttlMs);
    return e.slot;
  }

  bind(client: string, slot: number, nowMs: number): number {
    const id = this.#id(client);
    const e = this.#entries.get(id);
    const expiresAt = nowMs + this.ttlMs;
    if (e !== undefined) {
      if (this.#live(e, nowMs) && (e.slot === slot || this.slots.isCandidate(e.slot))) {
        e.expiresAt = Math.max(e.expiresAt, expiresAt);
        return e.slot;
      }
      e.slot = slot;
      e.incarnation = this.slots.incarnation(slot);
      e.expiresAt = expiresAt;
      return slot;
    }
    if (this.#entries.size >= this.maxEntries) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    this.#entries.set(id, { slot, incarnation: this.slots.incarnation(slot), expiresAt });
    return slot;
  }

  unbind(client: string, slot: number): boolean {
    const id = this.#id(client);
    const e = this.#entries.get(id);
    if (e === undefined || e.slot !== slot) return false;
    this.#entries.delete(id);
    return true;
  }

  gc(nowMs: number): number {
    let removed = 0;
    for (const [id, e] of this.#entries) {
      if (e.expiresAt <= nowMs) {
        this.#entries.delete(id);
        removed++;
      }
    }
    return removed;
  }
}

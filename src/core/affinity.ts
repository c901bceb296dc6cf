// Client → backend bindings with a sliding TTL. Pure: every call takes the time.
// An expired binding is never returned, even before gc() has removed it.

export interface Binding {
  readonly backendId: string;
  readonly slot: number;
}

interface Entry {
  backendId: string;
  slot: number;
  expiresAt: number;
}

export class AffinityTable {
  // Map keeps insertion order: when full, the first entries are the least recently bound.
  readonly #entries = new Map<string, Entry>();

  readonly ttlMs: number;
  readonly maxEntries: number;
  constructor(ttlMs: number, maxEntries: number) {
    this.ttlMs = ttlMs;
    this.maxEntries = maxEntries;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The live binding for a client, its TTL slid forward; undefined when none or expired. */
  lookup(client: string, nowMs: number): Binding | undefined {
    const e = this.#entries.get(client);
    if (e === undefined) return undefined;
    if (e.expiresAt <= nowMs) {
      this.#entries.delete(client);
      return undefined;
    }
    e.expiresAt = nowMs + this.ttlMs;
    return e;
  }

  bind(client: string, backendId: string, slot: number, nowMs: number): void {
    const e = this.#entries.get(client);
    if (e !== undefined) {
      e.backendId = backendId;
      e.slot = slot;
      e.expiresAt = nowMs + this.ttlMs;
      return;
    }
    if (this.#entries.size >= this.maxEntries) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    this.#entries.set(client, { backendId, slot, expiresAt: nowMs + this.ttlMs });
  }

  unbind(client: string): void {
    this.#entries.delete(client);
  }

  /** Removes expired bindings; returns how many. */
  gc(nowMs: number): number {
    let removed = 0;
    for (const [client, e] of this.#entries) {
      if (e.expiresAt <= nowMs) {
        this.#entries.delete(client);
        removed++;
      }
    }
    return removed;
  }
}

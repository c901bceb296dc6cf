// A bounded address → location cache. Two generations instead of a true LRU: a hit in the young map
// costs one Map.get (no reordering on the hot path); when the young map fills, it becomes the old one
// and the previous old one is dropped. Entries used since the last swap survive it. At most 2 × capacity.
import type { ClientLocation } from "../core/types.ts";

export class LocationCache {
  #young = new Map<string, ClientLocation>();
  #old = new Map<string, ClientLocation>();

  readonly capacity: number;
  constructor(capacity: number) {
    this.capacity = capacity;
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity: expected an integer >= 1, got ${capacity}`);
  }

  get size(): number {
    return this.#young.size + this.#old.size;
  }

  get(ip: string): ClientLocation | undefined {
    const hit = this.#young.get(ip);
    if (hit !== undefined) return hit;
    const old = this.#old.get(ip);
    if (old !== undefined) this.set(ip, old); // still in use: carry it into the young generation
    return old;
  }

  set(ip: string, location: ClientLocation): void {
    if (this.#young.size >= this.capacity) {
      this.#old = this.#young;
      this.#young = new Map();
    }
    this.#young.set(ip, location);
  }
}

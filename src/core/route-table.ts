// Maps route snapshots onto the selection engine's slots. A backend keeps its slot (and so its
// live counters) for as long as it stays in the snapshots; a slot that left is reused only once
// its last connection is released.
import type { Backend, RouteSnapshot } from "./types.ts";
import type { SelectionEngine } from "./selection.ts";
import { countryCode } from "./regions.ts";

export interface ApplyReport {
  readonly added: number;
  readonly updated: number;
  readonly removed: number;
  /** Backends left out because every slot is taken. */
  readonly overflow: readonly string[];
}

export class RouteTable {
  readonly #engine: SelectionEngine;
  readonly #localRegion: number;
  readonly #regionIds = new Map<string, number>();
  readonly #slotOf = new Map<string, number>();
  /** slot → backend currently written there (null: free or retired). */
  readonly #backendAt: (Backend | null)[];
  /** Slots whose backend left while connections were still open. */
  readonly #retired = new Set<number>();
  readonly #free: number[] = [];
  #generation = "";

  constructor(engine: SelectionEngine, localRegion: string) {
    this.#engine = engine;
    this.#backendAt = new Array(engine.capacity).fill(null);
    for (let s = engine.capacity - 1; s >= 0; s--) this.#free.push(s);
    this.#localRegion = this.regionId(localRegion);
  }

  get generation(): string {
    return this.#generation;
  }

  get size(): number {
    return this.#slotOf.size;
  }

  /** Interned id of a region code (>= 1); ids are stable for the process lifetime. */
  regionId(region: string): number {
    let id = this.#regionIds.get(region);
    if (id === undefined) {
      id = this.#regionIds.size + 1;
      this.#regionIds.set(region, id);
    }
    return id;
  }

  /** Region id if some backend or this POP uses the region, else 0 (no region tier possible). */
  knownRegionId(region: string | null): number {
    return region === null ? 0 : (this.#regionIds.get(region) ?? 0);
  }

  backendAt(slot: number): Backend | null {
    return this.#backendAt[slot] ?? null;
  }

  slotOf(id: string): number | undefined {
    return this.#slotOf.get(id);
  }

  apply(snapshot: RouteSnapshot): ApplyReport {
    const engine = this.#engine;
    this.#reclaimRetired();
    const seen = new Set<string>();
    let added = 0, updated = 0, removed = 0;
    const overflow: string[] = [];
    for (const b of snapshot.backends) {
      seen.add(b.id);
      let slot = this.#slotOf.get(b.id);
      if (slot === undefined) {
        slot = this.#free.pop();
        if (slot === undefined) {
          overflow.push(b.id);
          continue;
        }
        this.#slotOf.set(b.id, slot);
        added++;
      } else if (this.#backendAt[slot]?.version !== b.version) {
        updated++;
      }
      this.#backendAt[slot] = b;
      const region = this.regionId(b.region);
      engine.setSlot(slot, {
        country: countryCode(b.country),
        region,
        local: region === this.#localRegion,
        healthy: b.healthy,
        weight: b.weight,
        softLimit: b.softLimit,
        hardLimit: b.hardLimit,
      });
    }
    for (const [id, slot] of this.#slotOf) {
      if (seen.has(id)) continue;
      engine.clearSlot(slot);
      this.#slotOf.delete(id);
      this.#backendAt[slot] = null;
      this.#retired.add(slot);
      removed++;
    }
    this.#reclaimRetired();
    this.#generation = snapshot.generation;
    return { added, updated, removed, overflow };
  }

  #reclaimRetired(): void {
    for (const slot of this.#retired) {
      if (this.#engine.active(slot) === 0) {
        this.#retired.delete(slot);
        this.#free.push(slot);
      }
    }
  }
}

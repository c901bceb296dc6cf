// Maps route snapshots onto the selection engine's slots. A backend keeps its slot (and so its
// live counters) for as long as it stays in the snapshots; a slot that left is reused only once
// its last connection is released, and never in the snapshot that cleared it.
//
// With worker threads, this table lives in the control plane and each worker reads a RouteLookup
// published to it (engine/route-bus.ts). apply() orders its writes so a worker never routes to a
// backend through a stale view: clear the slots that left, publish the new view, then write the
// slots; a worker that selects a slot its view does not know yet skips it (router.ts).
//
// A slot's attributes are derived from its Backend object alone, and snapshots reuse the objects of
// backends that did not change (RouteSync), so a slot already holding the very same object is not
// written again: a refresh writes only what changed.
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

/** What the data path reads: the backend in a slot, and region ids. */
export interface RouteLookup {
  backendAt(slot: number): Backend | null;
  /** Region id if some backend or this POP uses the region, else 0 (no region tier possible). */
  knownRegionId(region: string | null): number;
}

/** The slot assignment as published to the data-plane workers. */
export interface RoutePublication {
  readonly generation: string;
  readonly regions: readonly (readonly [region: string, id: number])[];
  /** Every assigned slot, with the incarnation it was assigned in. */
  readonly slots: readonly (readonly [slot: number, incarnation: number, backend: Backend])[];
}

export class RouteTable implements RouteLookup {
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

  readonly #publish: ((publication: RoutePublication) => void) | undefined;

  /** `publish`: called by apply() with the new assignment, after slots that left are cleared and before
   *  the others are written (see above). */
  constructor(engine: SelectionEngine, localRegion: string, publish?: (publication: RoutePublication) => void) {
    this.#engine = engine;
    this.#publish = publish;
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
    const placed: (readonly [number, Backend])[] = [];
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
      } else if (this.#backendAt[slot] === b) {
        continue; // the engine holds it already
      } else if (this.#backendAt[slot]?.version !== b.version) {
        updated++;
      }
      this.regionId(b.region);
      placed.push([slot, b]);
    }
    for (const [id, slot] of this.#slotOf) {
      if (seen.has(id)) continue;
      engine.clearSlot(slot);
      this.#slotOf.delete(id);
      this.#backendAt[slot] = null;
      this.#retired.add(slot);
      removed++;
    }
    for (const [slot, b] of placed) this.#backendAt[slot] = b;
    this.#generation = snapshot.generation;
    this.#publish?.(this.publication());
    for (const [slot, b] of placed) {
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
    this.#reclaimRetired();
    return { added, updated, removed, overflow };
  }

  /** The current assignment, as apply() publishes it. */
  publication(): RoutePublication {
    const slots: (readonly [number, number, Backend])[] = [];
    for (const slot of this.#slotOf.values()) slots.push([slot, this.#engine.incarnation(slot), this.#backendAt[slot]!]);
    return { generation: this.#generation, regions: [...this.#regionIds], slots };
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

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
//
// applyChanges() is apply() of the last snapshot with only the changed backends given (a refresh from
// the store's change log): the same rules and write order, with work in proportion to the change
// (the worker publication aside, which is the whole table). So that it needs no full list, backends
// left out for want of a slot wait in the table and are tried again first, where the next full
// snapshot would list them; and freed slots are given out in slot order, whatever order the
// backends left in. Both then give out the very same slots.
import type { Backend, RouteChanges, RouteSnapshot } from "./types.ts";
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

/** What one apply decided before it writes: the slots to write, and the counts reported. */
interface Pass {
  readonly placed: (readonly [slot: number, backend: Backend])[];
  added: number;
  updated: number;
  removed: number;
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
  /** Backends left out because every slot was taken, in the order a snapshot lists them (the report's overflow). */
  readonly #waiting = new Map<string, Backend>();
  #generation = "";

  readonly #publish: ((publication: RoutePublication) => void) | undefined;

  /** `publish`: called by apply() and applyChanges() with the new assignment, after slots that left
   *  are cleared and before the others are written (see above). */
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
    this.#reclaimRetired();
    const pass: Pass = { placed: [], added: 0, updated: 0, removed: 0 };
    this.#waiting.clear();
    const seen = new Set<string>();
    for (const b of snapshot.backends) {
      seen.add(b.id);
      this.#place(b, pass);
    }
    for (const [id, slot] of this.#slotOf) if (!seen.has(id)) this.#leave(id, slot, pass);
    return this.#write(snapshot.generation, pass);
  }

  /** apply() of the last snapshot with `changes` laid over it, touching only the backends named (and
   *  those waiting for a slot). New backends take slots in the order given, as a snapshot listing
   *  them after the rows it had already would. */
  applyChanges(changes: RouteChanges): ApplyReport {
    this.#reclaimRetired();
    const pass: Pass = { placed: [], added: 0, updated: 0, removed: 0 };
    const waiting = this.#waiting;
    for (const id of changes.removed) waiting.delete(id);
    const others: Backend[] = [];
    for (const b of changes.backends) {
      if (waiting.has(b.id)) waiting.set(b.id, b); // keeps its place in the queue
      else others.push(b);
    }
    // Those waiting first: a snapshot lists them before the backends added since.
    const retried = [...waiting.values()];
    waiting.clear();
    for (const b of retried) this.#place(b, pass);
    for (const b of others) this.#place(b, pass);
    for (const id of changes.removed) {
      const slot = this.#slotOf.get(id);
      if (slot !== undefined) this.#leave(id, slot, pass);
    }
    return this.#write(changes.generation, pass);
  }

  /** Gives b its slot (or a free one, or a place among those waiting); the write is left to #write,
   *  and skipped when the slot holds this very object. */
  #place(b: Backend, pass: Pass): void {
    let slot = this.#slotOf.get(b.id);
    if (slot === undefined) {
      slot = this.#free.pop();
      if (slot === undefined) {
        this.#waiting.set(b.id, b);
        return;
      }
      this.#slotOf.set(b.id, slot);
      pass.added++;
    } else if (this.#backendAt[slot] === b) {
      return; // the engine holds it already
    } else if (this.#backendAt[slot]?.version !== b.version) {
      pass.updated++;
    }
    this.regionId(b.region);
    pass.placed.push([slot, b]);
  }

  /** The backend left: its slot is cleared now, and retired until its last connection is released. */
  #leave(id: string, slot: number, pass: Pass): void {
    this.#engine.clearSlot(slot);
    this.#slotOf.delete(id);
    this.#backendAt[slot] = null;
    this.#retired.add(slot);
    pass.removed++;
  }

  /** After the clears: the new view published, then the slots placed written. */
  #write(generation: string, pass: Pass): ApplyReport {
    const engine = this.#engine;
    for (const [slot, b] of pass.placed) this.#backendAt[slot] = b;
    this.#generation = generation;
    this.#publish?.(this.publication());
    for (const [slot, b] of pass.placed) {
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
    const { added, updated, removed } = pass;
    return { added, updated, removed, overflow: [...this.#waiting.keys()] };
  }

  /** The current assignment, as apply() publishes it. */
  publication(): RoutePublication {
    const slots: (readonly [number, number, Backend])[] = [];
    for (const slot of this.#slotOf.values()) slots.push([slot, this.#engine.incarnation(slot), this.#backendAt[slot]!]);
    return { generation: this.#generation, regions: [...this.#regionIds], slots };
  }

  /** Retired slots with no connection left become free, lowest on top: in slot order, not the order
   *  their backends left in (which apply() and applyChanges() see differently). */
  #reclaimRetired(): void {
    const idle: number[] = [];
    for (const slot of this.#retired) if (this.#engine.active(slot) === 0) idle.push(slot);
    if (idle.length === 0) return;
    idle.sort((a, b) => b - a);
    for (const slot of idle) {
      this.#retired.delete(slot);
      this.#free.push(slot);
    }
  }
}

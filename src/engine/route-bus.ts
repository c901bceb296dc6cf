// Route publication through the shared engine memory: the control plane builds a snapshot once
// (RouteTable.apply) and publishes its slot assignment; every worker's RouteView picks the newest one up
// at its next decision, without a stop or a message. The slots themselves (attributes, live counts,
// circuits) are already shared: a backend keeps its slot and its count across publications.
//
//   control plane                                    worker (any thread, its own engine on the memory)
//   new RouteTable(engine, region, routePublisher(engine))
//   table.apply(snapshot) → clear, publish, write →  view.backendAt(slot): one atomic load of the epoch;
//                                                    when it moved, decode the new publication first
//
// The encoding is JSON in one of the two PUBLISH buffers (assembly/layout.ts); a publication that does
// not fit throws at the control plane (size the buffers with publishBytesFor).
import type { Backend } from "../core/types.ts";
import type { RouteLookup, RoutePublication } from "../core/route-table.ts";
import type { WasmEngine } from "./wasm-engine.ts";

/** Publication buffer size for up to `capacity` backends of ordinary size (ids and hosts under ~100 chars). */
export function publishBytesFor(capacity: number): number {
  return Math.max(64 * 1024, capacity * 320);
}

/** The `publish` callback of a control-plane RouteTable: every apply() reaches every engine on the memory. */
export function routePublisher(engine: WasmEngine): (publication: RoutePublication) => void {
  const encoder = new TextEncoder();
  return (publication) => {
    engine.publish(encoder.encode(JSON.stringify(publication)));
  };
}

/** A worker's view of the published routes: the RouteLookup its router reads. */
export class RouteView implements RouteLookup {
  readonly #engine: WasmEngine;
  readonly #decoder = new TextDecoder();
  #epoch = 0;
  #generation = "";
  #backends: (Backend | null)[] = [];
  #incarnations: number[] = [];
  #regions = new Map<string, number>();

  constructor(engine: WasmEngine) {
    this.#engine = engine;
    this.refresh();
  }

  /** Epoch of the publication this view holds (0: none yet). */
  get epoch(): number {
    return this.#epoch;
  }

  get generation(): string {
    return this.#generation;
  }

  /** Take the newest publication if there is one; true when the view changed. */
  refresh(): boolean {
    if (this.#engine.currentEpoch() === this.#epoch) return false;
    const latest = this.#engine.readPublication();
    if (latest === null || latest.epoch === this.#epoch) return false;
    const publication = JSON.parse(this.#decoder.decode(latest.bytes)) as RoutePublication;
    const backends: (Backend | null)[] = new Array(this.#engine.capacity).fill(null);
    const incarnations: number[] = new Array(this.#engine.capacity).fill(-1);
    for (const [slot, incarnation, backend] of publication.slots) {
      backends[slot] = Object.freeze(backend);
      incarnations[slot] = incarnation;
    }
    this.#backends = backends;
    this.#incarnations = incarnations;
    this.#regions = new Map(publication.regions);
    this.#generation = publication.generation;
    this.#epoch = latest.epoch;
    return true;
  }

  /** The backend in `slot` as of the newest publication, or null (none, or the slot has moved on to
   *  another backend than the one this view knows). */
  backendAt(slot: number): Backend | null {
    this.refresh();
    const backend = this.#backends[slot] ?? null;
    return backend !== null && this.#engine.incarnation(slot) === this.#incarnations[slot] ? backend : null;
  }

  slotOf(id: string): number | undefined {
    this.refresh();
    const slot = this.#backends.findIndex((b) => b?.id === id);
    return slot < 0 ? undefined : slot;
  }

  knownRegionId(region: string | null): number {
    this.refresh();
    return region === null ? 0 : (this.#regions.get(region) ?? 0);
  }
}

// Per-backend counters the connection handler bumps (plain numbers, no prom-client call), read and
// pruned at scrape time: a backend that left the route table loses its series, so label
// cardinality follows the table.
import type { Backend } from "../core/types.ts";

export interface BackendTally {
  /** Region of the backend when its series were last written (a change retires the old series). */
  region: string;
  connections: number;
  errors: number;
}

export class BackendTallies {
  readonly #byId = new Map<string, BackendTally>();

  #tally(backend: Backend): BackendTally {
    let t = this.#byId.get(backend.id);
    if (t === undefined) {
      t = { region: backend.region, connections: 0, errors: 0 };
      this.#byId.set(backend.id, t);
    }
    return t;
  }

  connected(backend: Backend): void {
    this.#tally(backend).connections++;
  }

  failed(backend: Backend): void {
    this.#tally(backend).errors++;
  }

  get(id: string): BackendTally | undefined {
    return this.#byId.get(id);
  }

  get size(): number {
    return this.#byId.size;
  }

  /** Drops tallies of backends no longer routed (or moved to another region); `retire` gets each
   *  dropped label set so its other series (histograms) can be removed too. */
  prune(current: ReadonlyMap<string, string>, retire: (id: string, region: string) => void): void {
    for (const [id, t] of this.#byId) {
      const region = current.get(id);
      if (region === t.region) continue;
      retire(id, t.region);
      if (region === undefined) this.#byId.delete(id);
      else { t.region = region; t.connections = 0; t.errors = 0; }
    }
  }
}

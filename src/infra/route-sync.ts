// Keeps the route table in step with the routing store: a cheap change check every interval,
// a full read only when the store changed, and the last good snapshot kept when the store fails.
import type { RouteSnapshot } from "../core/types.ts";
import type { RouteTable } from "../core/route-table.ts";
import type { Logger } from "./log.ts";

export interface SnapshotSource {
  changeMarker(): Promise<string>;
  readSnapshot(): Promise<{ snapshot: RouteSnapshot; skipped: readonly { id: string | null; reason: string }[] }>;
}

export class RouteSync {
  #marker: string | null = null;
  #failing = false;
  #running: Promise<boolean> | null = null;
  #last: RouteSnapshot | null = null;

  /** `adjust` is laid over every snapshot before it is applied (the config file's backend overrides). */
  constructor(readonly source: SnapshotSource, readonly table: RouteTable, readonly log: Logger, readonly adjust: (s: RouteSnapshot) => RouteSnapshot = (s) => s) {}

  /** Whether the last attempt to read the store failed (the table then holds the last good snapshot). */
  get failing(): boolean {
    return this.#failing;
  }

  /** Checks the store and applies a new snapshot if it changed; true when one was applied. */
  refresh(): Promise<boolean> {
    // One refresh at a time: a slow store must not pile up overlapping reads.
    this.#running ??= this.#refresh().finally(() => { this.#running = null; });
    return this.#running;
  }

  async #refresh(): Promise<boolean> {
    try {
      const marker = await this.source.changeMarker();
      if (marker === this.#marker) {
        this.#recovered();
        return false;
      }
      const { snapshot, skipped } = await this.source.readSnapshot();
      for (const s of skipped) this.log.warn("routing row skipped", { id: s.id, reason: s.reason });
      this.#last = snapshot;
      const report = this.table.apply(this.adjust(snapshot));
      for (const id of report.overflow) this.log.error("no free backend slot (raise EDGEPROXY_MAX_BACKENDS)", { id });
      this.#marker = marker;
      this.#recovered();
      this.log.info("routes applied", { backends: this.table.size, added: report.added, updated: report.updated, removed: report.removed, skipped: skipped.length });
      return true;
    } catch (err) {
      if (!this.#failing) {
        this.log.error("routing store unreadable, keeping the last good snapshot", { backends: this.table.size, error: (err as Error).message });
      }
      this.#failing = true;
      return false;
    }
  }

  /** Applies the last snapshot read again, without reading the store (what `adjust` lays over it
   *  changed). Slots are kept, so open connections and their counts are untouched. */
  reapply(): void {
    if (this.#last === null) return;
    this.table.apply(this.adjust(this.#last));
    this.log.info("routes re-applied", { backends: this.table.size });
  }

  #recovered(): void {
    if (this.#failing) this.log.info("routing store readable again");
    this.#failing = false;
  }
}

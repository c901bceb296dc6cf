// Keeps the route table in step with the routing store: a cheap change check every interval, a read
// only when the store changed, and the last good snapshot kept when the store fails. The read is of
// the changed rows only when the store can say which (libSQL's change log), laid over the last
// snapshot's rows; otherwise (PostgreSQL, a first read, a log that no longer reaches back) of every row.
import type { Backend, RouteSnapshot } from "../core/types.ts";
import type { RouteTable } from "../core/route-table.ts";
import type { Logger } from "../lifecycle/log.ts";
import type { AdjustedRow, ChangeRead, SkippedRow, SnapshotRead } from "../store/routing-store.ts";

export interface SnapshotSource {
  changeMarker(): Promise<string>;
  readSnapshot(): Promise<SnapshotRead>;
  /** The rows changed since a cursor, or null (then every row is read). Optional. */
  readChanges?(cursor: string): Promise<ChangeRead | null>;
}

interface Read {
  readonly snapshot: RouteSnapshot;
  readonly skipped: readonly SkippedRow[];
  readonly adjusted: readonly AdjustedRow[];
  /** Ids of the rows read (changed since the last read), or null when every row was read. */
  readonly changed: ReadonlySet<string> | null;
}

/** Where each applied snapshot is also kept (a local file), so a restart during an outage still routes. */
export interface SnapshotKeeper {
  save(snapshot: RouteSnapshot, nowMs: number): Promise<void>;
}

export interface RouteSyncOptions {
  readonly now?: () => number;
  readonly keeper?: SnapshotKeeper | null;
  /** Laid over every snapshot before it is applied (the config file's backend overrides); the
   *  keeper saves the snapshot as read. */
  readonly adjust?: (snapshot: RouteSnapshot) => RouteSnapshot;
}

/** What a metric exports: "ok" while the store answers, "failing" while routing runs on the last good snapshot. */
export interface RouteSyncState {
  readonly state: "ok" | "failing";
  /** When the store last answered (ms since the epoch), null before it ever did. */
  readonly lastSuccessMs: number | null;
}

export class RouteSync {
  #marker: string | null = null;
  #failing = false;
  #lastSuccessMs: number | null = null;
  #running: Promise<boolean> | null = null;
  #queued: Promise<boolean> | null = null;
  #keeperFailing = false;
  readonly #now: () => number;
  readonly #keeper: SnapshotKeeper | null;
  readonly #adjust: (snapshot: RouteSnapshot) => RouteSnapshot;
  #last: RouteSnapshot | null = null;
  /** #last's rows by id, and where the store's changes since it are read from (null: read every row). */
  #rows: { cursor: string; readonly byId: Map<string, Backend> } | null = null;
  /** Adjusted rows already warned about: id → version and reasons, so each change warns once. */
  readonly #warned = new Map<string, string>();

  readonly source: SnapshotSource;
  readonly table: RouteTable;
  readonly log: Logger;
  constructor(source: SnapshotSource, table: RouteTable, log: Logger, options: RouteSyncOptions = {}) {
    this.source = source;
    this.table = table;
    this.log = log;
    this.#now = options.now ?? Date.now;
    this.#keeper = options.keeper ?? null;
    this.#adjust = options.adjust ?? ((snapshot) => snapshot);
  }

  /** Whether the last attempt to read the store failed (the table then holds the last good snapshot). */
  get failing(): boolean {
    return this.#failing;
  }

  get state(): RouteSyncState {
    return { state: this.#failing ? "failing" : "ok", lastSuccessMs: this.#lastSuccessMs };
  }

  /**
   * Checks the store and applies a new snapshot if it changed; true when one was applied. One refresh
   * at a time (a slow store must not pile up reads); a call made during one runs once more after it,
   * so a change notified while a read was under way is never missed.
   */
  refresh(): Promise<boolean> {
    if (this.#running === null) {
      this.#running = this.#refresh().finally(() => { this.#running = null; });
      return this.#running;
    }
    this.#queued ??= this.#running.then(() => {
      this.#queued = null;
      return this.refresh();
    });
    return this.#queued;
  }

  /** Routes on a saved snapshot until the store answers (its marker is not taken: the next read applies). */
  restore(snapshot: RouteSnapshot): void {
    this.#last = snapshot;
    this.#rows = null;
    const report = this.table.apply(this.#adjust(snapshot));
    for (const id of report.overflow) this.log.error("no free backend slot (raise EDGEPROXY_MAX_BACKENDS)", { id });
  }

  async #refresh(): Promise<boolean> {
    try {
      const marker = await this.source.changeMarker();
      if (marker === this.#marker) {
        this.#recovered();
        return false;
      }
      const { snapshot, skipped, adjusted, changed } = await this.#read();
      for (const s of skipped) this.log.warn("routing row skipped", { id: s.id, reason: s.reason });
      this.#warnAdjusted(adjusted, changed);
      this.#last = snapshot;
      const report = this.table.apply(this.#adjust(snapshot));
      for (const id of report.overflow) this.log.error("no free backend slot (raise EDGEPROXY_MAX_BACKENDS)", { id });
      this.#marker = marker;
      this.#recovered();
      this.log.info("routes applied", { backends: this.table.size, added: report.added, updated: report.updated, removed: report.removed, skipped: skipped.length, read: changed === null ? "all" : "changes", changed: changed?.size });
      await this.#keep(snapshot);
      return true;
    } catch (err) {
      if (!this.#failing) {
        this.log.error("routing store unreadable, keeping the last good snapshot", { backends: this.table.size, error: (err as Error).message });
      }
      this.#failing = true;
      return false;
    }
  }

  /** Only the rows changed since the last read when the source can say which (unchanged backends keep
   *  their objects, so the table does not rewrite their slots), else every row. */
  async #read(): Promise<Read> {
    const rows = this.#rows;
    const changes = rows !== null && this.source.readChanges !== undefined ? await this.source.readChanges(rows.cursor) : null;
    if (rows === null || changes === null) {
      const { snapshot, skipped, adjusted = [], cursor } = await this.source.readSnapshot();
      this.#rows = cursor === undefined ? null : { cursor, byId: new Map(snapshot.backends.map((b) => [b.id, b])) };
      return { snapshot, skipped, adjusted, changed: null };
    }
    for (const id of changes.removed) rows.byId.delete(id);
    for (const b of changes.backends) rows.byId.set(b.id, b);
    rows.cursor = changes.cursor;
    const changed = new Set(changes.removed);
    for (const b of changes.backends) changed.add(b.id);
    const snapshot = { generation: changes.generation, backends: [...rows.byId.values()] };
    return { snapshot, skipped: changes.skipped, adjusted: changes.adjusted, changed };
  }

  /** Applies the last snapshot again without reading the store (what `adjust` lays over it changed).
   *  Slots are kept, so open connections and their counts are untouched. */
  reapply(): void {
    if (this.#last === null) return;
    const report = this.table.apply(this.#adjust(this.#last));
    for (const id of report.overflow) this.log.error("no free backend slot (raise EDGEPROXY_MAX_BACKENDS)", { id });
    this.log.info("routes re-applied", { backends: this.table.size });
  }

  async #keep(snapshot: RouteSnapshot): Promise<void> {
    if (this.#keeper === null) return;
    try {
      await this.#keeper.save(snapshot, this.#now());
      if (this.#keeperFailing) this.log.info("route snapshot saved again");
      this.#keeperFailing = false;
    } catch (err) {
      if (!this.#keeperFailing) this.log.warn("cannot save the route snapshot (a restart during a store outage would start without routes)", { error: (err as Error).message });
      this.#keeperFailing = true;
    }
  }

  /** One warning per change of a row routed with replaced values (not one per reload). `changed`: the
   *  ids read (null: all), the only rows whose warning can be forgotten (fixed or gone). */
  #warnAdjusted(adjusted: readonly AdjustedRow[], changed: ReadonlySet<string> | null): void {
    const now = new Set<string>();
    for (const a of adjusted) {
      now.add(a.id);
      const key = `${a.version} ${a.reasons.join("; ")}`;
      if (this.#warned.get(a.id) === key) continue;
      this.#warned.set(a.id, key);
      this.log.warn("routing row adjusted", { id: a.id, version: a.version, reasons: a.reasons });
    }
    for (const id of this.#warned.keys()) if (!now.has(id) && (changed === null || changed.has(id))) this.#warned.delete(id);
  }

  #recovered(): void {
    this.#lastSuccessMs = this.#now();
    if (this.#failing) this.log.info("routing store readable again");
    this.#failing = false;
  }
}

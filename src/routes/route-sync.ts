// Keeps the route table in step with the routing store: a cheap change check every interval, a read
// only when the store changed, and the last good snapshot kept when the store fails. The read is of
// the changed rows only when the store can say which (libSQL's change log), and then only those rows
// are applied (RouteTable.applyChanges); otherwise (PostgreSQL, a first read, a log that no longer
// reaches back) every row is read and applied.
import type { Backend, RouteSnapshot } from "../core/types.ts";
import type { ApplyReport, RouteTable } from "../core/route-table.ts";
import type { Logger } from "../lifecycle/log.ts";
import type { AdjustedRow, ChangeRead, SnapshotRead } from "../store/routing-store.ts";

export interface SnapshotSource {
  changeMarker(): Promise<string>;
  readSnapshot(): Promise<SnapshotRead>;
  /** The rows changed since a cursor, or null (then every row is read). Optional. */
  readChanges?(cursor: string): Promise<ChangeRead | null>;
}

/** The rows last applied, by id, and where the store's changes since are read from. */
interface Rows {
  generation: string;
  cursor: string;
  readonly byId: Map<string, Backend>;
}

/** One read of the store: every row, or the rows changed since `rows`. */
type Read =
  | { readonly all: SnapshotRead; readonly changes?: undefined }
  | { readonly all?: undefined; readonly changes: ChangeRead; readonly rows: Rows };

/** Where each applied snapshot is also kept (a local file), so a restart during an outage still routes. */
export interface SnapshotKeeper {
  save(snapshot: RouteSnapshot, nowMs: number): Promise<void>;
}

export interface RouteSyncOptions {
  readonly now?: () => number;
  readonly keeper?: SnapshotKeeper | null;
  /** Laid over every snapshot before it is applied (the config file's backend overrides); the
   *  keeper saves the snapshot as read. Row by row: after a change read it is given the changed rows alone. */
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
  /** The last snapshot applied; null after a change read until #snapshot() makes it from #rows. */
  #last: RouteSnapshot | null = null;
  /** Null: the next read is of every row. */
  #rows: Rows | null = null;
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
      const read = await this.#read();
      const { skipped, adjusted = [] } = read.all ?? read.changes;
      /** Ids of the rows read, or null when every row was read. */
      const changed = read.changes === undefined ? null : new Set([...read.changes.removed, ...read.changes.backends.map((b) => b.id)]);
      for (const s of skipped) this.log.warn("routing row skipped", { id: s.id, reason: s.reason });
      this.#warnAdjusted(adjusted, changed);
      const report = read.all !== undefined ? this.#applyAll(read.all) : this.#applyChanges(read.changes, read.rows);
      for (const id of report.overflow) this.log.error("no free backend slot (raise EDGEPROXY_MAX_BACKENDS)", { id });
      this.#marker = marker;
      this.#recovered();
      this.log.info("routes applied", { backends: this.table.size, added: report.added, updated: report.updated, removed: report.removed, skipped: skipped.length, read: changed === null ? "all" : "changes", changed: changed?.size });
      await this.#keep();
      return true;
    } catch (err) {
      if (!this.#failing) {
        this.log.error("routing store unreadable, keeping the last good snapshot", { backends: this.table.size, error: (err as Error).message });
      }
      this.#failing = true;
      return false;
    }
  }

  /** Only the rows changed since the last read when the source can say which, else every row. */
  async #read(): Promise<Read> {
    const rows = this.#rows;
    const changes = rows !== null && this.source.readChanges !== undefined ? await this.source.readChanges(rows.cursor) : null;
    return rows === null || changes === null ? { all: await this.source.readSnapshot() } : { changes, rows };
  }

  #applyAll({ snapshot, cursor }: SnapshotRead): ApplyReport {
    const report = this.table.apply(this.#adjust(snapshot));
    this.#last = snapshot;
    this.#rows = cursor === undefined ? null : { generation: snapshot.generation, cursor, byId: new Map(snapshot.backends.map((b) => [b.id, b])) };
    return report;
  }

  /** Only the changed rows go to the table, so unchanged backends are not even looked at. */
  #applyChanges(changes: ChangeRead, rows: Rows): ApplyReport {
    const { generation, removed } = changes;
    const backends = this.#adjust({ generation, backends: changes.backends }).backends;
    const report = this.table.applyChanges({ generation, backends, removed });
    for (const id of removed) rows.byId.delete(id);
    for (const b of changes.backends) rows.byId.set(b.id, b);
    rows.generation = generation;
    rows.cursor = changes.cursor;
    this.#last = null;
    return report;
  }

  /** The last snapshot applied (null before the first); after a change read, made from #rows here. */
  #snapshot(): RouteSnapshot | null {
    const rows = this.#rows;
    if (this.#last === null && rows !== null) this.#last = { generation: rows.generation, backends: [...rows.byId.values()] };
    return this.#last;
  }

  /** Applies the last snapshot again without reading the store (what `adjust` lays over it changed).
   *  Slots are kept, so open connections and their counts are untouched. */
  reapply(): void {
    const last = this.#snapshot();
    if (last === null) return;
    const report = this.table.apply(this.#adjust(last));
    for (const id of report.overflow) this.log.error("no free backend slot (raise EDGEPROXY_MAX_BACKENDS)", { id });
    this.log.info("routes re-applied", { backends: this.table.size });
  }

  async #keep(): Promise<void> {
    if (this.#keeper === null) return; // before #snapshot(): without a keeper, no full list is made
    const snapshot = this.#snapshot();
    if (snapshot === null) return;
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

// The routing store on a local libSQL/SQLite file (`EDGEPROXY_DB_PATH`), shared with the CLI, the API
// and hand edits in sqlite3. WAL mode so the proxy reads while others write; a busy timeout so two
// writers queue instead of failing with "database is locked".
import type { BackendInput, BackendRecord, ChangeRead, ChangeSource, RoutingStore, SnapshotRead } from "./routing-store.ts";
import { inTransaction, openSqlConnection, type SqlConnection } from "./sql-connection.ts";
import { migrate } from "./migrations.ts";
import { changeMarker, changePoint, readChanges } from "./libsql-changes.ts";
import { BackendInputError, StoreError } from "./store-errors.ts";
import { checkId, inputRow, snapshotRows, toRecord } from "./backend-input.ts";
import { BackendSetters, checkCutoff, checkHeartbeatTime, NOT_DELETED, SNAPSHOT_COLUMNS, SQLITE_PARAM, updateStatement, upsertStatement, type ChangeStamp } from "./backend-sql.ts";

export interface LibsqlStoreOptions {
  /** How long a write waits for another writer's lock before failing. Default 5000. */
  readonly busyTimeoutMs?: number;
  /** Written to `source` on every change made through this handle. Default null. */
  readonly source?: ChangeSource | null;
  /** This POP's id, written to `origin` on every change made through this handle. Default null. */
  readonly origin?: string | null;
  /** Clock for `updated_at`/`created_at` of changes made through this handle. Default Date.now. */
  readonly now?: () => number;
  /**
   * Identity of the file at `path` now (device + inode), or null when missing. When it changes, the
   * file was replaced (an operator's `mv new.db routing.db`): the store reconnects to the new file
   * instead of reading the unlinked old one forever. Omitted: no check.
   */
  readonly fileIdentity?: () => string | null;
}

export interface LibsqlStore extends RoutingStore {
  readonly path: string;
  /** From the change log (libsql-changes.ts). */
  readChanges(cursor: string): Promise<ChangeRead | null>;
}

/**
 * Opens `path`, creating the file and its schema when missing and migrating an older file in place.
 * Synchronous (the driver is); throws a StoreError naming the path when the file cannot be used.
 */
export function openLibsqlStore(path: string, options: LibsqlStoreOptions = {}): LibsqlStore {
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
  if (!Number.isInteger(busyTimeoutMs) || busyTimeoutMs < 0) {
    throw new StoreError(`busyTimeoutMs: expected an integer >= 0, got ${busyTimeoutMs}`);
  }
  // Also used to reconnect after a driver error, so a file restored from an old backup is migrated too.
  const connect = () => connectTo(path, busyTimeoutMs);
  try {
    return new LibsqlRoutingStore(path, connect(), connect, options);
  } catch (err) {
    throw storeError(path, "open", err);
  }
}

function connectTo(path: string, busyTimeoutMs: number): SqlConnection {
  const db = openSqlConnection(path);
  try {
    db.exec(`PRAGMA busy_timeout = ${busyTimeoutMs}`);
    db.get("PRAGMA journal_mode = WAL"); // ":memory:" answers "memory"; that is fine
    db.exec("PRAGMA synchronous = NORMAL"); // durable across process crashes in WAL mode
    migrate(db);
    return db;
  } catch (err) {
    closeQuietly(db);
    throw err;
  }
}

function closeQuietly(db: SqlConnection): void {
  try {
    db.close();
  } catch {
    // A failed close leaves nothing to do; the error that led here is the one to report.
  }
}

function storeError(path: string, action: string, err: unknown): StoreError {
  const code = typeof (err as { code?: unknown })?.code === "string" ? (err as { code: string }).code : null;
  const message = err instanceof Error ? err.message : String(err);
  return new StoreError(`routing store ${path}: cannot ${action}: ${message}${code ? ` (${code})` : ""}`, code, { cause: err });
}

class LibsqlRoutingStore extends BackendSetters implements LibsqlStore {
  readonly path: string;
  /** null after a driver error (reconnect on next use) or after close(). */
  #db: SqlConnection | null;
  #closed = false;
  readonly #connect: () => SqlConnection;
  readonly #source: string | null;
  readonly #origin: string | null;
  readonly #now: () => number;
  readonly #fileIdentity: (() => string | null) | null;
  /** Identity of the file the open connection was made to. */
  #identity: string | null;

  constructor(path: string, db: SqlConnection, connect: () => SqlConnection, options: LibsqlStoreOptions) {
    super();
    this.path = path;
    this.#db = db;
    this.#fileIdentity = options.fileIdentity ?? null;
    this.#identity = this.#fileIdentity?.() ?? null;
    this.#connect = connect;
    this.#source = options.source ?? null;
    this.#origin = options.origin ?? null;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Runs `fn` on the connection; any failure becomes a StoreError (input errors pass through).
   * After a driver error the connection is replaced: libsql has no statement reset, and a statement
   * that failed (SQLITE_BUSY, SQLITE_CORRUPT) stays "in progress" and would break every later COMMIT.
   */
  #use<T>(action: string, fn: (db: SqlConnection) => T): T {
    if (this.#closed) throw storeError(this.path, action, new Error("the store is closed"));
    try {
      if (this.#fileIdentity !== null) {
        const identity = this.#fileIdentity();
        if (identity !== this.#identity && this.#db !== null) {
          closeQuietly(this.#db); // the file was replaced: read the new one
          this.#db = null;
        }
        this.#identity = identity;
      }
      this.#db ??= this.#connect();
      return fn(this.#db);
    } catch (err) {
      if (err instanceof BackendInputError) throw err;
      if (this.#db !== null) closeQuietly(this.#db);
      this.#db = null;
      throw storeError(this.path, action, err);
    }
  }

  async changeMarker(): Promise<string> {
    return this.#use("read the change marker", (db) => changeMarker(db));
  }

  async readSnapshot(): Promise<SnapshotRead> {
    return this.#use("read backends", (db) =>
      // One read transaction: the marker and the rows come from the same moment.
      inTransaction(db, "BEGIN", () => {
        const { generation, cursor } = changePoint(db);
        const { backends, skipped, adjusted } = snapshotRows(db.all(`SELECT ${SNAPSHOT_COLUMNS} FROM backends WHERE deleted IS NOT 1 ORDER BY id`));
        return { snapshot: { generation, backends }, skipped, adjusted, cursor };
      }),
    );
  }

  async readChanges(cursor: string): Promise<ChangeRead | null> {
    return this.#use("read changed backends", (db) => inTransaction(db, "BEGIN", () => readChanges(db, cursor)));
  }

  #stamp(): ChangeStamp {
    return { source: this.#source, origin: this.#origin, at: this.#now() };
  }

  async upsertBackend(input: BackendInput): Promise<boolean> {
    return this.#use("write backend", (db) => {
      const row = inputRow(input);
      const upsert = upsertStatement(SQLITE_PARAM, row, this.#stamp());
      return inTransaction(db, "BEGIN IMMEDIATE", () => {
        const existed = db.get("SELECT 1 AS found FROM backends WHERE id = ?", [row.id]) !== undefined;
        db.run(upsert.sql, upsert.params);
        // In the same transaction, so a heartbeat sweep never sees the row live with its old heartbeat.
        // Only when it differs: an UPDATE that leaves the heartbeat as it was would bump the version again.
        if (row.last_heartbeat_ms !== undefined) {
          db.run("UPDATE backends SET last_heartbeat_ms = ? WHERE id = ? AND last_heartbeat_ms IS NOT ?", [row.last_heartbeat_ms, row.id, row.last_heartbeat_ms]);
        }
        return existed;
      });
    });
  }

  protected async update(id: string, set: Readonly<Record<string, unknown>>, action: string): Promise<boolean> {
    return this.#use(action, (db) => {
      const update = updateStatement(SQLITE_PARAM, id, set, this.#stamp());
      return db.run(update.sql, update.params) > 0;
    });
  }

  async deleteBackend(id: string): Promise<boolean> {
    return this.#use("delete backend", (db) => {
      checkId(id);
      return db.run("DELETE FROM backends WHERE id = ?", [id]) > 0;
    });
  }

  async touchHeartbeat(id: string, nowMs: number): Promise<boolean> {
    return this.#use("record heartbeat", (db) => {
      checkId(id);
      checkHeartbeatTime(nowMs);
      // Skipping an unchanged value matters: an UPDATE that leaves the heartbeat as it was is an ordinary
      // write to the change triggers, and would bump the row's version.
      const changed = db.run(`UPDATE backends SET last_heartbeat_ms = ? WHERE id = ? AND ${NOT_DELETED} AND last_heartbeat_ms IS NOT ?`, [nowMs, id, nowMs]);
      return changed > 0 || db.get(`SELECT 1 AS found FROM backends WHERE id = ? AND ${NOT_DELETED}`, [id]) !== undefined;
    });
  }

  async expireHeartbeats(cutoffMs: number): Promise<string[]> {
    return this.#use("expire heartbeats", (db) => {
      checkCutoff(cutoffMs);
      const stale = `last_heartbeat_ms IS NOT NULL AND last_heartbeat_ms < ? AND ${NOT_DELETED}`;
      // Most sweeps find nothing: a plain read first, so they never take the write lock.
      if (db.get(`SELECT 1 AS found FROM backends WHERE ${stale} LIMIT 1`, [cutoffMs]) === undefined) return [];
      return inTransaction(db, "BEGIN IMMEDIATE", () => {
        const ids = db.all(`SELECT id FROM backends WHERE ${stale} ORDER BY id`, [cutoffMs]).map((r) => String(r.id));
        db.run(`UPDATE backends SET deleted = 1, source = ?, origin = ?, updated_at = ? WHERE ${stale}`, [this.#source, this.#origin, this.#now(), cutoffMs]);
        return ids;
      });
    });
  }

  async getBackend(id: string): Promise<BackendRecord | null> {
    return this.#use("read backend", (db) => {
      checkId(id);
      const row = db.get("SELECT * FROM backends WHERE id = ?", [id]);
      return row === undefined ? null : toRecord(row);
    });
  }

  async listBackends(options: { readonly includeDeleted?: boolean } = {}): Promise<BackendRecord[]> {
    return this.#use("list backends", (db) => {
      const where = options.includeDeleted ? "" : `WHERE ${NOT_DELETED}`;
      return db.all(`SELECT * FROM backends ${where} ORDER BY id`).map(toRecord);
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#db !== null) closeQuietly(this.#db);
    this.#db = null;
  }
}

// Live per-backend state of the proxy serving this routing.db (active connections, active health check
// result, later circuit state), for `edgeproxy db show`. Local to this POP and short-lived: two small tables beside
// `backends`, outside the migrations and the change log (a write here is never a routing change).
//
//   backend_live   (id TEXT PK, active INTEGER, circuit TEXT NULL, updated_at_ms INTEGER, probe TEXT NULL)
//   live_publisher (id = 1, interval_ms INTEGER, updated_at_ms INTEGER)   ← "the proxy is alive" stamp
//
// Readers trust the rows only while the stamp is fresh (see isFresh).
import { inTransaction, openSqlConnection, type SqlConnection } from "./sql-connection.ts";
import { StoreError } from "./store-errors.ts";

export interface LiveRow {
  readonly id: string;
  readonly active: number;
  readonly circuit: string | null;
  /** Active health check: "up", "down", or null when not probed (checks off, backend disabled). */
  readonly probe: string | null;
}

export interface LiveSnapshot {
  /** When the publisher last confirmed these rows, and how often it publishes. */
  readonly stampedAtMs: number;
  readonly intervalMs: number;
  readonly rows: ReadonlyMap<string, LiveRow>;
}

export interface LiveTable {
  /** Writes changed rows, deletes ids no longer present and stamps the publisher, in one transaction. */
  publish(changed: readonly LiveRow[], removed: readonly string[], nowMs: number, intervalMs: number): void;
  /** Removes every row and the stamp (the proxy stops: no live state). */
  clear(): void;
  /** The published state, or null when no proxy ever published here. Never writes. */
  read(): LiveSnapshot | null;
  close(): void;
}

/** A stamp older than three publish intervals (plus a second of slack) means the proxy is gone. */
export function isFresh(snapshot: LiveSnapshot, nowMs: number): boolean {
  return nowMs - snapshot.stampedAtMs <= 3 * snapshot.intervalMs + 1000;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS backend_live (id TEXT PRIMARY KEY, active INTEGER NOT NULL, circuit TEXT, updated_at_ms INTEGER NOT NULL, probe TEXT);
CREATE TABLE IF NOT EXISTS live_publisher (id INTEGER PRIMARY KEY CHECK (id = 1), interval_ms INTEGER NOT NULL, updated_at_ms INTEGER NOT NULL);`;

function hasColumn(conn: SqlConnection, table: string, column: string): boolean {
  return conn.all(`PRAGMA table_info(${table})`).some((c) => c.name === column);
}

export function openLiveTable(path: string, options: { readonly busyTimeoutMs?: number } = {}): LiveTable {
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
  let db: SqlConnection | null = null;
  let created = false;
  // After a driver error the connection is replaced (a failed libsql statement can stay "in progress").
  const use = <T>(action: string, fn: (db: SqlConnection) => T): T => {
    try {
      if (db === null) {
        db = openSqlConnection(path);
        db.exec(`PRAGMA busy_timeout = ${busyTimeoutMs}`);
        // Live counts are throw-away state written from the proxy's event loop: never wait on an
        // fsync for them (the default FULL synced every publish and stalled connections for seconds).
        db.exec("PRAGMA synchronous = OFF");
      }
      return fn(db);
    } catch (err) {
      try {
        db?.close();
      } catch {
        // The error that led here is the one to report.
      }
      db = null;
      throw new StoreError(`routing store ${path}: cannot ${action} live state: ${(err as Error).message}`, null, { cause: err });
    }
  };
  const ensureSchema = (conn: SqlConnection) => {
    if (created) return;
    conn.exec(SCHEMA);
    // A table made by an older proxy lacks later columns; the rows are throw-away, the table is not ours alone.
    if (!hasColumn(conn, "backend_live", "probe")) conn.exec("ALTER TABLE backend_live ADD COLUMN probe TEXT");
    created = true;
  };
  return {
    publish(changed, removed, nowMs, intervalMs) {
      use("write", (conn) => {
        ensureSchema(conn);
        inTransaction(conn, "BEGIN IMMEDIATE", () => {
          for (const r of changed) {
            conn.run("INSERT OR REPLACE INTO backend_live (id, active, circuit, updated_at_ms, probe) VALUES (?, ?, ?, ?, ?)", [r.id, r.active, r.circuit, nowMs, r.probe]);
          }
          for (const id of removed) conn.run("DELETE FROM backend_live WHERE id = ?", [id]);
          conn.run("INSERT OR REPLACE INTO live_publisher (id, interval_ms, updated_at_ms) VALUES (1, ?, ?)", [intervalMs, nowMs]);
        });
      });
    },
    clear() {
      use("clear", (conn) => {
        ensureSchema(conn);
        inTransaction(conn, "BEGIN IMMEDIATE", () => {
          conn.run("DELETE FROM backend_live");
          conn.run("DELETE FROM live_publisher");
        });
      });
    },
    read() {
      return use("read", (conn) => {
        if (conn.get("SELECT 1 AS found FROM sqlite_master WHERE type = 'table' AND name = 'live_publisher'") === undefined) return null;
        return inTransaction(conn, "BEGIN", () => {
          const stamp = conn.get("SELECT interval_ms, updated_at_ms FROM live_publisher WHERE id = 1");
          if (stamp === undefined) return null;
          const rows = new Map<string, LiveRow>();
          // SELECT *: a table written by an older proxy may not have the probe column yet.
          for (const r of conn.all("SELECT * FROM backend_live")) {
            const probe = typeof r.probe === "string" ? r.probe : null;
            rows.set(String(r.id), { id: String(r.id), active: Number(r.active), circuit: typeof r.circuit === "string" ? r.circuit : null, probe });
          }
          return { stampedAtMs: Number(stamp.updated_at_ms), intervalMs: Number(stamp.interval_ms), rows };
        });
      });
    },
    close() {
      try {
        db?.close();
      } catch {
        // Nothing useful to do with a failed close at shutdown.
      }
      db = null;
    },
  };
}

// Schema of routing.db as numbered steps. A fresh file and a file made by the original edgeProxy tools
// take the same path: step 1 is the original table exactly as it shipped (a no-op when it exists),
// later steps only add to it, so rows are never rewritten away and old tools keep reading it.
// Applied steps are recorded in schema_migrations; a file that knows a newer step is refused.
import { inTransaction, type SqlConnection } from "./sql-connection.ts";
import { installChangeTriggers, SQL_NOW_MS } from "./change-triggers.ts";
import { StoreError } from "./store-errors.ts";

export interface Migration {
  readonly version: number;
  readonly name: string;
  up(db: SqlConnection): void;
}

/** The schema the original tools shipped; must stay byte-for-byte compatible. */
export const ORIGINAL_BACKENDS_TABLE = `CREATE TABLE IF NOT EXISTS backends (
  id TEXT PRIMARY KEY, app TEXT, region TEXT, wg_ip TEXT, port INTEGER, healthy INTEGER,
  weight INTEGER, soft_limit INTEGER, hard_limit INTEGER, deleted INTEGER DEFAULT 0)`;

const ORIGINAL_COLUMNS = ["id", "app", "region", "wg_ip", "port", "healthy", "weight", "soft_limit", "hard_limit", "deleted"] as const;

/** Added by step 2; `ALTER TABLE … ADD COLUMN` only, so existing rows stay as they are. */
const ADDED_COLUMNS = {
  country: "TEXT",
  created_at: "INTEGER",
  updated_at: "INTEGER",
  version: "INTEGER NOT NULL DEFAULT 0",
  origin: "TEXT", // POP that made the change (replication)
  hlc: "TEXT", // hybrid logical clock of the change (replication)
  last_heartbeat_ms: "INTEGER",
  source: "TEXT", // "cli" | "api" | "replication" | …
} as const;

/** store_meta key whose value is '1' only inside replication's applying transactions (step 4). */
export const REPLICATION_APPLYING = "replication_applying";

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: "original backends table", up: (db) => db.exec(ORIGINAL_BACKENDS_TABLE) },
  {
    version: 2,
    name: "country, timestamps, row versions, change log",
    up(db) {
      const present = new Set(db.all("SELECT name FROM pragma_table_info('backends')").map((r) => String(r.name)));
      const missing = ORIGINAL_COLUMNS.filter((c) => !present.has(c));
      if (missing.length > 0) {
        throw new StoreError(`table backends lacks column(s) ${missing.join(", ")}: not an edgeProxy routing store (expected ${ORIGINAL_COLUMNS.join(", ")})`);
      }
      for (const [column, type] of Object.entries(ADDED_COLUMNS)) {
        if (!present.has(column)) db.exec(`ALTER TABLE backends ADD COLUMN ${column} ${type}`);
      }
      db.exec(`
CREATE TABLE IF NOT EXISTS backend_changes (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL, op TEXT NOT NULL, version INTEGER NOT NULL, at_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS backend_changes_by_id ON backend_changes (id, version);
CREATE TABLE IF NOT EXISTS store_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT OR IGNORE INTO store_meta (key, value) VALUES ('store_id', lower(hex(randomblob(8))));
UPDATE backends SET version = 1 WHERE version = 0;
UPDATE backends SET created_at = ${SQL_NOW_MS} WHERE created_at IS NULL;
UPDATE backends SET updated_at = created_at WHERE updated_at IS NULL;
INSERT INTO backend_changes (id, op, version, at_ms) SELECT id, 'upsert', version, ${SQL_NOW_MS} FROM backends;`);
      installChangeTriggers(db);
    },
  },
  // Replication (src/replication/): every logged change also lands in the outbox, one row per backend
  // id (a later change of the same id replaces it, so the outbox never holds more rows than ids), and
  // waits there until JetStream acknowledged it. Filled whether or not replication runs, so writes made
  // while it is off or the POP is cut off are published when it runs again.
  {
    version: 3,
    name: "replication outbox, replicated key stamps",
    up(db) {
      db.exec(`
CREATE TABLE IF NOT EXISTS replication_outbox (
  id TEXT PRIMARY KEY, at_ms INTEGER NOT NULL, n INTEGER NOT NULL DEFAULT 1, hlc TEXT);
CREATE TABLE IF NOT EXISTS replication_keys (
  id TEXT PRIMARY KEY, hlc TEXT NOT NULL, origin TEXT NOT NULL, owner TEXT, tombstone INTEGER NOT NULL DEFAULT 0, revision INTEGER NOT NULL DEFAULT 0);
CREATE TRIGGER IF NOT EXISTS backend_changes_outbox AFTER INSERT ON backend_changes BEGIN
  INSERT INTO replication_outbox (id, at_ms) VALUES (NEW.id, NEW.at_ms)
    ON CONFLICT (id) DO UPDATE SET at_ms = excluded.at_ms, n = n + 1, hlc = NULL;
END;
INSERT OR IGNORE INTO replication_outbox (id, at_ms) SELECT id, COALESCE(updated_at, ${SQL_NOW_MS}) FROM backends;`);
    },
  },
  // Replication applying a remote change is not a local change: the outbox trigger skips the changes
  // logged while the applying transaction holds the store_meta row REPLICATION_APPLYING at '1' (set and
  // reset to '0' in that transaction, so no other connection ever sees '1'), instead of queueing each
  // one for replication to delete again (two statements and two more pages per commit).
  {
    version: 4,
    name: "replication's own writes stay out of the outbox",
    up(db) {
      db.exec(`
DROP TRIGGER IF EXISTS backend_changes_outbox;
CREATE TRIGGER backend_changes_outbox AFTER INSERT ON backend_changes
WHEN NOT EXISTS (SELECT 1 FROM store_meta WHERE key = '${REPLICATION_APPLYING}' AND value = '1') BEGIN
  INSERT INTO replication_outbox (id, at_ms) VALUES (NEW.id, NEW.at_ms)
    ON CONFLICT (id) DO UPDATE SET at_ms = excluded.at_ms, n = n + 1, hlc = NULL;
END;`);
    },
  },
];

export const LATEST_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

const LEDGER = "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at_ms INTEGER NOT NULL)";

/** Highest applied step, or 0; reads only (no write lock when nothing is pending). */
function appliedVersion(db: SqlConnection): number {
  const ledger = db.get("SELECT 1 AS present FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'");
  if (ledger === undefined) return 0;
  return Number(db.get("SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations")?.v ?? 0);
}

/**
 * Brings the file to LATEST_SCHEMA_VERSION in one IMMEDIATE transaction (two processes opening a new
 * file at once serialise here; the second finds nothing to do). Returns the steps it applied.
 */
export function migrate(db: SqlConnection, migrations: readonly Migration[] = MIGRATIONS): number[] {
  const latest = migrations[migrations.length - 1]!.version;
  const current = appliedVersion(db);
  if (current > latest) {
    throw new StoreError(`schema version ${current} is newer than this edgeProxy knows (${latest}): upgrade edgeProxy`);
  }
  if (current === latest) return [];
  return inTransaction(db, "BEGIN IMMEDIATE", () => {
    db.exec(LEDGER);
    const done = appliedVersion(db);
    const applied: number[] = [];
    for (const step of migrations) {
      if (step.version <= done) continue;
      step.up(db);
      db.run(`INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES (?, ?, ${SQL_NOW_MS})`, [step.version, step.name]);
      applied.push(step.version);
    }
    return applied;
  });
}

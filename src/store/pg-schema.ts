// Schema of the PostgreSQL routing store as numbered steps, the counterpart of migrations.ts.
// Step 1 is the `backends` table exactly as the original edgeProxy shipped it for PostgreSQL (with its
// two partial indexes; a no-op when it exists); step 2 only adds to it — columns, the change log, the
// change triggers — so an older table keeps every row and the original tools keep reading it.
//
// Row versioning and change propagation are done by the database, so every writer is covered (this
// store, the CLI and API of any POP, an operator's psql session):
//
//   BEFORE INSERT ─► version = last logged version of that id + 1 (unless the writer set one)
//   BEFORE UPDATE ─► version + 1, updated_at = now() — unless only last_heartbeat_ms changed
//   AFTER  INSERT / version change / DELETE / id rename ─► row in backend_changes,
//          store_meta.generation + 1 (the change marker), NOTIFY edgeproxy_routes '<schema>'
//
// The generation counter is one row updated under its row lock, so it grows in commit order: a
// reader that saw generation n has seen every change up to n (a sequence would not promise that).
// NOTIFY is delivered at commit, once per transaction and schema.
import { quoteIdent, type PgQueryable } from "./pg-connection.ts";
import { StoreError } from "./store-errors.ts";

/** LISTEN channel; the payload is the schema whose `backends` changed. */
export const CHANGE_CHANNEL = "edgeproxy_routes";
export const PG_CHANGE_LOG_KEEP = 10_000;

/** The original edgeProxy PostgreSQL schema; must stay as it shipped. */
export const ORIGINAL_PG_BACKENDS = `
CREATE TABLE IF NOT EXISTS backends (
  id TEXT PRIMARY KEY, app TEXT NOT NULL, region TEXT NOT NULL, country TEXT NOT NULL, wg_ip TEXT NOT NULL,
  port INTEGER NOT NULL, healthy INTEGER NOT NULL DEFAULT 1, weight INTEGER NOT NULL DEFAULT 1,
  soft_limit INTEGER NOT NULL DEFAULT 100, hard_limit INTEGER NOT NULL DEFAULT 150,
  deleted INTEGER NOT NULL DEFAULT 0,
  created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
  updated_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP);`;

const PARTIAL_INDEXES = `
CREATE INDEX IF NOT EXISTS idx_backends_healthy ON backends(healthy) WHERE deleted = 0;
CREATE INDEX IF NOT EXISTS idx_backends_region ON backends(region) WHERE deleted = 0;`;

/** Columns every routing store has had (the libSQL original too). */
const ORIGINAL_COLUMNS = ["id", "app", "region", "wg_ip", "port", "healthy", "weight", "soft_limit", "hard_limit", "deleted"] as const;

const ADDED_COLUMNS = {
  country: "TEXT",
  created_at: "TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP",
  updated_at: "TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP",
  version: "BIGINT NOT NULL DEFAULT 0",
  origin: "TEXT",
  hlc: "TEXT",
  last_heartbeat_ms: "BIGINT",
  source: "TEXT",
} as const;

const NOW_MS = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint";

/** Trigger functions pinned to the schema they were made in, whatever the writer's search_path. */
function triggerFunctions(schema: string): string {
  const pin = `SET search_path = ${quoteIdent(schema)}`;
  const unversioned = "ARRAY['last_heartbeat_ms', 'version', 'updated_at']";
  return `
CREATE OR REPLACE FUNCTION edgeproxy_backends_stamp() RETURNS trigger LANGUAGE plpgsql ${pin} AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF NEW.version IS NULL OR NEW.version = 0 THEN
      NEW.version := COALESCE((SELECT MAX(c.version) FROM backend_changes c WHERE c.id = NEW.id), 0) + 1;
    END IF;
    NEW.created_at := COALESCE(NEW.created_at, now());
    NEW.updated_at := COALESCE(NEW.updated_at, NEW.created_at);
  ELSIF NEW.version IS NOT DISTINCT FROM OLD.version AND (
      NEW.last_heartbeat_ms IS NOT DISTINCT FROM OLD.last_heartbeat_ms
      OR (to_jsonb(NEW) - ${unversioned}) IS DISTINCT FROM (to_jsonb(OLD) - ${unversioned})) THEN
    NEW.version := OLD.version + 1;
    IF NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at THEN NEW.updated_at := now(); END IF;
  END IF;
  RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION edgeproxy_backends_log() RETURNS trigger LANGUAGE plpgsql ${pin} AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    INSERT INTO backend_changes (id, op, version, at_ms) VALUES (OLD.id, 'delete', OLD.version + 1, ${NOW_MS});
  ELSIF TG_OP = 'INSERT' THEN
    INSERT INTO backend_changes (id, op, version, at_ms) VALUES (NEW.id, 'upsert', NEW.version, ${NOW_MS});
  ELSE
    IF NEW.version IS NOT DISTINCT FROM OLD.version AND NEW.id IS NOT DISTINCT FROM OLD.id THEN
      RETURN NULL; -- a heartbeat: not a routing change
    END IF;
    IF NEW.id IS DISTINCT FROM OLD.id THEN
      INSERT INTO backend_changes (id, op, version, at_ms) VALUES (OLD.id, 'delete', OLD.version + 1, ${NOW_MS});
    END IF;
    INSERT INTO backend_changes (id, op, version, at_ms) VALUES (NEW.id, 'upsert', NEW.version, ${NOW_MS});
  END IF;
  UPDATE store_meta SET value = (value::bigint + 1)::text WHERE key = 'generation';
  DELETE FROM backend_changes WHERE seq <= (SELECT MAX(seq) FROM backend_changes) - ${PG_CHANGE_LOG_KEEP};
  PERFORM pg_notify('${CHANGE_CHANNEL}', TG_TABLE_SCHEMA);
  RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS backends_stamp ON backends;
CREATE TRIGGER backends_stamp BEFORE INSERT OR UPDATE ON backends FOR EACH ROW EXECUTE FUNCTION edgeproxy_backends_stamp();
DROP TRIGGER IF EXISTS backends_log ON backends;
CREATE TRIGGER backends_log AFTER INSERT OR UPDATE OR DELETE ON backends FOR EACH ROW EXECUTE FUNCTION edgeproxy_backends_log();`;
}

export interface PgMigration {
  readonly version: number;
  readonly name: string;
  up(client: PgQueryable, schema: string): Promise<void>;
}

export const PG_MIGRATIONS: readonly PgMigration[] = [
  {
    version: 1,
    name: "original backends table",
    async up(client, schema) {
      await client.query(ORIGINAL_PG_BACKENDS);
      await backendColumns(client, schema); // an unrelated `backends` table is refused before anything is added
      await client.query(PARTIAL_INDEXES);
    },
  },
  {
    version: 2,
    name: "country nullable, row versions, change log, change triggers",
    async up(client, schema) {
      const present = await backendColumns(client, schema);
      for (const column of ["created_at", "updated_at"]) {
        const type = present.get(column)?.data_type;
        if (type !== undefined && !type.startsWith("timestamp")) {
          throw new StoreError(`column backends.${column} has type ${type}: expected timestamp with time zone`);
        }
      }
      for (const [column, type] of Object.entries(ADDED_COLUMNS)) {
        if (!present.has(column)) await client.query(`ALTER TABLE backends ADD COLUMN ${column} ${type}`);
      }
      // The API registers backends without a country (null: no country tier); the original required one.
      if (present.get("country")?.is_nullable === "NO") await client.query("ALTER TABLE backends ALTER COLUMN country DROP NOT NULL");
      await client.query(`
CREATE TABLE IF NOT EXISTS backend_changes (
  seq BIGSERIAL PRIMARY KEY, id TEXT NOT NULL, op TEXT NOT NULL, version BIGINT NOT NULL, at_ms BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS backend_changes_by_id ON backend_changes (id, version);
CREATE TABLE IF NOT EXISTS store_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO store_meta (key, value) VALUES ('store_id', md5(random()::text || clock_timestamp()::text)) ON CONFLICT DO NOTHING;
INSERT INTO store_meta (key, value) VALUES ('generation', '0') ON CONFLICT DO NOTHING;
UPDATE backends SET version = 1 WHERE version = 0;
UPDATE backends SET created_at = now() WHERE created_at IS NULL;
UPDATE backends SET updated_at = created_at WHERE updated_at IS NULL;
INSERT INTO backend_changes (id, op, version, at_ms) SELECT id, 'upsert', version, ${NOW_MS} FROM backends;
${PARTIAL_INDEXES}`);
      await client.query(triggerFunctions(schema));
    },
  },
];

interface ColumnInfo {
  readonly column_name: string;
  readonly data_type: string;
  readonly is_nullable: string;
}

/** The columns of `backends`; throws when one of the original columns is missing. */
async function backendColumns(client: PgQueryable, schema: string): Promise<Map<string, ColumnInfo>> {
  const { rows } = await client.query<ColumnInfo>(
    "SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'backends'",
    [schema],
  );
  const present = new Map(rows.map((r) => [r.column_name, r]));
  const missing = ORIGINAL_COLUMNS.filter((c) => !present.has(c));
  if (missing.length > 0) {
    throw new StoreError(`table backends lacks column(s) ${missing.join(", ")}: not an edgeProxy routing store (expected ${ORIGINAL_COLUMNS.join(", ")})`);
  }
  return present;
}

export const PG_LATEST_SCHEMA_VERSION = PG_MIGRATIONS[PG_MIGRATIONS.length - 1]!.version;

const LEDGER = "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at_ms BIGINT NOT NULL)";

async function appliedVersion(client: PgQueryable, schema: string): Promise<number> {
  const { rows } = await client.query<{ present: boolean }>(
    "SELECT EXISTS (SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'schema_migrations') AS present",
    [schema],
  );
  if (!rows[0]?.present) return 0;
  const v = await client.query<{ v: number }>("SELECT COALESCE(MAX(version), 0)::int AS v FROM schema_migrations");
  return v.rows[0]?.v ?? 0;
}

/**
 * Brings the schema to the latest step in one transaction. Several POPs starting at once serialise on a
 * transaction-scoped advisory lock (per schema); the later ones find nothing to do. Returns the steps applied.
 */
export async function migratePg(client: PgQueryable, schema: string, migrations: readonly PgMigration[] = PG_MIGRATIONS): Promise<number[]> {
  const latest = migrations[migrations.length - 1]!.version;
  const current = await appliedVersion(client, schema);
  if (current > latest) throw new StoreError(`schema version ${current} is newer than this edgeProxy knows (${latest}): upgrade edgeProxy`);
  if (current === latest) return [];
  await client.query("BEGIN");
  try {
    await client.query("SELECT pg_advisory_xact_lock(hashtext('edgeproxy schema ' || $1::text))", [schema]);
    await client.query(LEDGER);
    const done = await appliedVersion(client, schema);
    const applied: number[] = [];
    for (const step of migrations) {
      if (step.version <= done) continue;
      await step.up(client, schema);
      await client.query(`INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES ($1, $2, ${NOW_MS})`, [step.version, step.name]);
      applied.push(step.version);
    }
    await client.query("COMMIT");
    return applied;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  }
}

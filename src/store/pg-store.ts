// The routing store on PostgreSQL (`EDGEPROXY_POSTGRES_*`): one database (often with replicas) holding
// the backend inventory of every POP. Same port and same row rules as the libSQL store; the schema and
// its change triggers are in pg-schema.ts, change propagation (LISTEN) in pg-change-feed.ts.
import type { BackendInput, BackendRecord, ChangeSource, RoutingStore, SnapshotRead } from "./routing-store.ts";
import { createPool, displayUrl, endWithin, pgError, type PgPool, type PgPoolClient, type PgQueryResult, type PgSettings } from "./pg-connection.ts";
import { migratePg } from "./pg-schema.ts";
import { BackendInputError, StoreError } from "./store-errors.ts";
import { checkId, inputRow, snapshotRows, toRecord } from "./backend-input.ts";
import { BackendSetters, checkCutoff, checkHeartbeatTime, NOT_DELETED, PG_PARAM, SNAPSHOT_COLUMNS, updateStatement, upsertStatement, type ChangeStamp } from "./backend-sql.ts";

export interface PgStoreOptions {
  /** Written to `source` on every change made through this handle. Default null. */
  readonly source?: ChangeSource | null;
  /** This POP's id, written to `origin` on every change made through this handle. Default null. */
  readonly origin?: string | null;
  /** Clock for `updated_at`/`created_at` of changes made through this handle. Default Date.now. */
  readonly now?: () => number;
  /** An idle pooled connection failed (the next query reconnects); for logging. */
  readonly onIdleError?: (err: StoreError) => void;
}

export interface PgStore extends RoutingStore {
  /** The URL without its password. */
  readonly displayUrl: string;
  /** The schema holding `backends` (the connection's current_schema()); the NOTIFY payload to wait for. */
  readonly schema: string;
}

const MARKER_SQL = "SELECT (SELECT value FROM store_meta WHERE key = 'store_id') AS store, (SELECT value FROM store_meta WHERE key = 'generation') AS generation";

/**
 * Connects, creates the schema when missing and migrates an older `backends` table in place.
 * Rejects with a StoreError (password never included) when the database cannot be used.
 */
export async function openPgStore(settings: PgSettings, options: PgStoreOptions = {}): Promise<PgStore> {
  const pool = createPool(settings, options.onIdleError ?? (() => undefined));
  let client: PgPoolClient | null = null;
  try {
    client = await pool.connect();
    const { rows } = await client.query<{ schema: string | null }>("SELECT current_schema() AS schema");
    const schema = rows[0]?.schema ?? null;
    if (schema === null) {
      const path = (await client.query<{ search_path: string }>("SHOW search_path")).rows[0]?.search_path ?? "";
      throw new StoreError(`no schema to create the tables in: search_path "${path}" names no existing schema (create it first: CREATE SCHEMA …)`);
    }
    await migratePg(client, schema);
    client.release();
    client = null;
    // Open MIN_CONNECTIONS now, so the first reads after start do not pay for connecting. Every one that
    // opened goes back to the pool even when another failed: one never released would keep end() waiting.
    const warm = await Promise.allSettled(Array.from({ length: settings.minConnections }, () => pool.connect()));
    for (const w of warm) if (w.status === "fulfilled") w.value.release();
    const failed = warm.find((w) => w.status === "rejected");
    if (failed !== undefined) throw failed.reason;
    return new PgRoutingStore(settings.url, schema, pool, options, settings.connectTimeoutMs);
  } catch (err) {
    client?.release(true);
    await endWithin(pool, settings.connectTimeoutMs);
    throw pgError(settings.url, "open", err);
  }
}

class PgRoutingStore extends BackendSetters implements PgStore {
  readonly displayUrl: string;
  readonly url: string;
  readonly schema: string;
  readonly pool: PgPool;
  /** How long close() waits for the server before dropping the connections. */
  readonly closeGraceMs: number;
  #closed = false;
  readonly #source: string | null;
  readonly #origin: string | null;
  readonly #now: () => number;

  constructor(url: string, schema: string, pool: PgPool, options: PgStoreOptions, closeGraceMs: number) {
    super();
    this.url = url;
    this.schema = schema;
    this.pool = pool;
    this.closeGraceMs = closeGraceMs;
    this.displayUrl = displayUrl(url);
    this.#source = options.source ?? null;
    this.#origin = options.origin ?? null;
    this.#now = options.now ?? Date.now;
  }

  /** Runs `fn`; any failure becomes a StoreError (input errors pass through). */
  async #use<T>(action: string, fn: () => Promise<T>): Promise<T> {
    if (this.#closed) throw pgError(this.url, action, new Error("the store is closed"));
    try {
      return await fn();
    } catch (err) {
      if (err instanceof BackendInputError) throw err;
      throw pgError(this.url, action, err);
    }
  }

  /** `fn` inside one transaction on one pooled connection, rolled back when it throws. */
  async #transaction<T>(begin: string, fn: (client: PgPoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken = false;
    try {
      await client.query(begin);
      const result = await fn(client);
      await client.query("COMMIT");
      return result;
    } catch (err) {
      // A connection whose ROLLBACK fails (timed out, link gone) is discarded, not reused.
      await client.query("ROLLBACK").catch(() => { broken = true; });
      throw err;
    } finally {
      client.release(broken);
    }
  }

  async #query(sql: string, params: readonly unknown[] = []): Promise<PgQueryResult<Record<string, unknown>>> {
    return this.pool.query(sql, params);
  }

  changeMarker(): Promise<string> {
    return this.#use("read the change marker", async () => marker((await this.#query(MARKER_SQL)).rows[0]));
  }

  readSnapshot(): Promise<SnapshotRead> {
    // One snapshot of the database: the marker and the rows come from the same moment.
    return this.#use("read backends", () =>
      this.#transaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", async (client) => {
        const generation = marker((await client.query(MARKER_SQL)).rows[0]);
        const { rows } = await client.query<Record<string, unknown>>(`SELECT ${SNAPSHOT_COLUMNS} FROM backends WHERE deleted IS DISTINCT FROM 1 ORDER BY id COLLATE "C"`);
        const { backends, skipped, adjusted } = snapshotRows(rows);
        return { snapshot: { generation, backends }, skipped, adjusted };
      }),
    );
  }

  #stamp(): ChangeStamp {
    return { source: this.#source, origin: this.#origin, at: new Date(this.#now()) };
  }

  upsertBackend(input: BackendInput): Promise<boolean> {
    return this.#use("write backend", async () => {
      const row = inputRow(input);
      const upsert = upsertStatement(PG_PARAM, row, this.#stamp());
      return this.#transaction("BEGIN", async (client) => {
        // xmax is 0 on a freshly inserted row and set on one the ON CONFLICT branch updated.
        const { rows } = await client.query<{ existed: boolean }>(`${upsert.sql}\nRETURNING (b.xmax <> 0) AS existed`, upsert.params);
        // Only when it differs: an UPDATE that leaves the heartbeat as it was would bump the version again.
        if (row.last_heartbeat_ms !== undefined) {
          await client.query("UPDATE backends SET last_heartbeat_ms = $1 WHERE id = $2 AND last_heartbeat_ms IS DISTINCT FROM $1", [row.last_heartbeat_ms, row.id]);
        }
        return rows[0]?.existed === true;
      });
    });
  }

  protected update(id: string, set: Readonly<Record<string, unknown>>, action: string): Promise<boolean> {
    return this.#use(action, async () => {
      const update = updateStatement(PG_PARAM, id, set, this.#stamp());
      return ((await this.#query(update.sql, update.params)).rowCount ?? 0) > 0;
    });
  }

  deleteBackend(id: string): Promise<boolean> {
    return this.#use("delete backend", async () => {
      checkId(id);
      return ((await this.#query("DELETE FROM backends WHERE id = $1", [id])).rowCount ?? 0) > 0;
    });
  }

  touchHeartbeat(id: string, nowMs: number): Promise<boolean> {
    return this.#use("record heartbeat", async () => {
      checkId(id);
      checkHeartbeatTime(nowMs);
      // Skipping an unchanged value matters: an UPDATE that leaves the heartbeat as it was is an
      // ordinary write to the change triggers, and would bump the row's version.
      const { rows } = await this.#query(
        `WITH live AS (SELECT id FROM backends WHERE id = $1 AND ${NOT_DELETED}),
              touched AS (UPDATE backends SET last_heartbeat_ms = $2 WHERE id IN (SELECT id FROM live) AND last_heartbeat_ms IS DISTINCT FROM $2 RETURNING id)
         SELECT (SELECT count(*) FROM live) AS live`,
        [id, nowMs],
      );
      return Number(rows[0]?.live ?? 0) > 0;
    });
  }

  expireHeartbeats(cutoffMs: number): Promise<string[]> {
    return this.#use("expire heartbeats", async () => {
      checkCutoff(cutoffMs);
      const stale = `last_heartbeat_ms IS NOT NULL AND last_heartbeat_ms < $1 AND ${NOT_DELETED}`;
      // Most sweeps find nothing: a plain read first, so they take no row lock.
      if ((await this.#query(`SELECT 1 FROM backends WHERE ${stale} LIMIT 1`, [cutoffMs])).rows.length === 0) return [];
      const { rows } = await this.#query(
        `UPDATE backends SET deleted = 1, source = $2, origin = $3, updated_at = $4 WHERE ${stale} RETURNING id`,
        [cutoffMs, this.#source, this.#origin, new Date(this.#now())],
      );
      return rows.map((r) => String(r.id)).sort();
    });
  }

  getBackend(id: string): Promise<BackendRecord | null> {
    return this.#use("read backend", async () => {
      checkId(id);
      const { rows } = await this.#query("SELECT * FROM backends WHERE id = $1", [id]);
      return rows[0] === undefined ? null : toRecord(rows[0]);
    });
  }

  listBackends(options: { readonly includeDeleted?: boolean } = {}): Promise<BackendRecord[]> {
    return this.#use("list backends", async () => {
      const where = options.includeDeleted ? "" : `WHERE ${NOT_DELETED}`;
      return (await this.#query(`SELECT * FROM backends ${where} ORDER BY id COLLATE "C"`)).rows.map(toRecord);
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await endWithin(this.pool, this.closeGraceMs);
  }
}

function marker(row: Record<string, unknown> | undefined): string {
  if (row === undefined || row.store === null || row.generation === null) throw new StoreError("store_meta has no store_id or generation (schema damaged?)");
  return `${String(row.store)}:${String(row.generation)}`;
}

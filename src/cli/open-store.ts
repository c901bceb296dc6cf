// The CLI's handle on the routing store: the libSQL file (--db / EDGEPROXY_DB_PATH) or, with
// EDGEPROXY_POSTGRES_ENABLED=true, PostgreSQL (EDGEPROXY_POSTGRES_*). Changes are stamped source "cli";
// the file gets a busy timeout so it queues behind a running proxy's writes, and no file is created by
// a read-only command.
import { openLibsqlStore } from "../store/libsql-store.ts";
import { LATEST_SCHEMA_VERSION } from "../store/migrations.ts";
import { openPgStore } from "../store/pg-store.ts";
import { PG_LATEST_SCHEMA_VERSION } from "../store/pg-schema.ts";
import type { RoutingStore } from "../store/routing-store.ts";
import { ConfigError, loadPostgresConfig, type PostgresConfig } from "../config.ts";
import type { CliContext } from "./program.ts";
import { UsageError } from "./usage-error.ts";

export const CLI_BUSY_TIMEOUT_MS = 10_000;

/** Which store a command works on: shown by `db init`. */
export interface StoreInfo {
  readonly where: string;
  readonly schemaVersion: number;
  readonly kind: "libsql" | "postgres";
}

/** The EDGEPROXY_POSTGRES_* settings, a bad one reported like a bad argument (exit 2). */
export function postgresConfig(context: CliContext): PostgresConfig {
  try {
    return loadPostgresConfig(context.io.env);
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.variable, err.message);
    throw err;
  }
}

/** Runs `fn` with the store open, and closes it. `create`: make the file when it does not exist. */
export async function withStore<T>(context: CliContext, create: boolean, fn: (store: RoutingStore, info: StoreInfo) => Promise<T>): Promise<T> {
  const pg = postgresConfig(context);
  let store: RoutingStore;
  let info: StoreInfo;
  if (pg.enabled) {
    if (context.dbOption() !== undefined) {
      throw new UsageError("--db", "--db: the routing store is PostgreSQL (EDGEPROXY_POSTGRES_ENABLED=true); unset it to use a file");
    }
    const opened = await openPgStore({ url: pg.url!, maxConnections: 2, minConnections: 0, connectTimeoutMs: pg.connectTimeoutMs, queryTimeoutMs: pg.queryTimeoutMs }, { source: "cli" });
    store = opened;
    info = { where: opened.displayUrl, schemaVersion: PG_LATEST_SCHEMA_VERSION, kind: "postgres" };
  } else {
    const path = context.dbPath();
    if (!create && !(await context.io.exists(path))) {
      throw new UsageError("--db", `--db: no routing store at ${path} (create one with "edgeproxy db init", or point --db / EDGEPROXY_DB_PATH at it)`);
    }
    store = openLibsqlStore(path, { busyTimeoutMs: CLI_BUSY_TIMEOUT_MS, source: "cli" });
    info = { where: path, schemaVersion: LATEST_SCHEMA_VERSION, kind: "libsql" };
  }
  try {
    return await fn(store, info);
  } finally {
    await store.close();
  }
}

export function unknownId(id: string): UsageError {
  return new UsageError("id", `id: no backend ${JSON.stringify(id)} (see "edgeproxy db show --all")`);
}

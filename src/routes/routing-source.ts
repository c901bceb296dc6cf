// Which routing store the running proxy reads, and how it learns of changes: the libSQL file
// (EDGEPROXY_DB_PATH, polled every EDGEPROXY_DB_RELOAD_SECS) or PostgreSQL (EDGEPROXY_POSTGRES_*:
// LISTEN/NOTIFY within a second, polled every EDGEPROXY_POSTGRES_RELOAD_SECS as the safety net, the
// last good snapshot kept in a local file for a restart during an outage).
import type { Config } from "../config.ts";
import type { Logger } from "../lifecycle/log.ts";
import type { RoutingStore } from "../store/routing-store.ts";
import type { RouteSync, SnapshotKeeper } from "./route-sync.ts";
import { openLibsqlStore } from "../store/libsql-store.ts";
import { lazyPgStore } from "../store/lazy-pg-store.ts";
import { startChangeFeed, type ChangeFeed } from "../store/pg-change-feed.ts";
import { snapshotFile } from "../store/snapshot-file.ts";
import { SettingError } from "../core/setting-error.ts";

export interface RoutingSource {
  /** Read by RouteSync; with PostgreSQL also the API's store (writes stamped source "api"). */
  readonly store: RoutingStore;
  readonly kind: "libsql" | "postgres";
  /** Shown in the start log line (no password). */
  readonly where: string;
  readonly reloadMs: number;
  readonly keeper: SnapshotKeeper | null;
  /** First read; falls back to the saved snapshot when PostgreSQL is down. Throws a SettingError. */
  start(routeSync: RouteSync): Promise<void>;
  close(): Promise<void>;
}

export interface RoutingHost {
  readonly log: Logger;
  readonly now: () => number;
  readonly fileIdentity: (path: string) => string | null;
}

export function openRoutingSource(config: Config, host: RoutingHost): RoutingSource {
  return config.postgres.enabled ? postgresSource(config, host) : libsqlSource(config, host);
}

function libsqlSource(config: Config, host: RoutingHost): RoutingSource {
  let store: RoutingStore;
  try {
    // fileIdentity: an operator's `mv new.db routing.db` is followed instead of reading the old inode.
    store = openLibsqlStore(config.dbPath, { busyTimeoutMs: 5000, fileIdentity: () => host.fileIdentity(config.dbPath) });
  } catch (err) {
    throw new SettingError("EDGEPROXY_DB_PATH", `cannot open routing store ${config.dbPath}: ${(err as Error).message}`);
  }
  return {
    store,
    kind: "libsql",
    where: config.dbPath,
    reloadMs: config.dbReloadMs,
    keeper: null,
    async start(routeSync) {
      await routeSync.refresh();
      if (routeSync.failing) {
        await store.close();
        throw new SettingError("EDGEPROXY_DB_PATH", `routing store ${config.dbPath} cannot be read (see the log line above)`);
      }
    },
    close: () => store.close(),
  };
}

function postgresSource(config: Config, host: RoutingHost): RoutingSource {
  const { log } = host;
  const pg = config.postgres;
  const settings = { url: pg.url!, maxConnections: pg.maxConnections, minConnections: pg.minConnections, connectTimeoutMs: pg.connectTimeoutMs, queryTimeoutMs: pg.queryTimeoutMs };
  const keeper = snapshotFile(pg.snapshotPath);
  let feed: ChangeFeed | null = null;
  let routeSync: RouteSync | null = null;
  let closed = false;
  const store = lazyPgStore(settings, {
    source: "api",
    now: host.now,
    onIdleError: (err) => log.debug("postgres idle connection lost", { error: err.message }),
    // The change feed needs the schema, known once the store could open.
    onOpen: (opened) => {
      if (closed || feed !== null) return;
      feed = startChangeFeed({
        settings,
        schema: opened.schema,
        onChange: () => void routeSync?.refresh(),
        onState: (listening, error) => {
          if (listening) log.info("postgres change feed listening", { url: store.displayUrl, schema: opened.schema });
          else log.warn("postgres change feed lost, reconnecting (routes still reload every EDGEPROXY_POSTGRES_RELOAD_SECS)", { error: error?.message });
        },
      });
    },
  });
  return {
    store,
    kind: "postgres",
    where: store.displayUrl,
    reloadMs: pg.reloadMs,
    keeper,
    async start(sync) {
      routeSync = sync;
      await sync.refresh();
      if (!sync.failing) return;
      let saved;
      try {
        saved = await keeper.load();
      } catch (err) {
        log.error("saved route snapshot unusable", { path: keeper.path, error: (err as Error).message });
      }
      if (saved == null) {
        await store.close();
        throw new SettingError("EDGEPROXY_POSTGRES_URL", `PostgreSQL routing store ${store.displayUrl} cannot be read and there is no saved snapshot at ${keeper.path} (see the log line above)`);
      }
      sync.restore(saved.snapshot);
      log.warn("routing from the saved snapshot until PostgreSQL answers", { path: keeper.path, backends: saved.snapshot.backends.length, saved_at: new Date(saved.savedAtMs).toISOString() });
    },
    async close() {
      closed = true;
      // Side by side: each waits at most the connect timeout for a server that does not answer.
      await Promise.all([feed?.close(), store.close()]);
    },
  };
}

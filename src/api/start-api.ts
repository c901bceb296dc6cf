// Runs the auto-discovery API inside the proxy process: its own routing-store handle (changes stamped
// source "api"), the Hono app served on this runtime's HTTP server, and the heartbeat reaper.
// Called by startEdgeProxy; a no-op when EDGEPROXY_API_ENABLED is false.
import type { Config } from "../config.ts";
import type { Logger } from "../core/logger.ts";
import type { HostPort } from "../runtime/types.ts";
import { serveHttp } from "../runtime/http-server.ts";
import { openApiStore } from "../store/api-store.ts";
import type { RoutingStore } from "../store/routing-store.ts";
import { HeartbeatReaper } from "./heartbeat-reaper.ts";
import { createApi } from "./create-api.ts";
import type { HealthStatus } from "./health-report.ts";
import { hostPort } from "../core/host-port.ts";
import type { ClusterStatus } from "../core/cluster-view.ts";

export interface ApiHost {
  readonly config: Config;
  readonly log: Logger;
  readonly now: () => number;
  /** Healthy backends in the proxy's current route snapshot (GET /health). */
  readonly routableBackends: () => number;
  /** "draining" during graceful shutdown. */
  readonly status?: () => HealthStatus;
  /** Applies store changes to routing now instead of at the next reload tick. */
  readonly refreshRoutes?: () => void;
  /** Device + inode of a file (see LibsqlStoreOptions.fileIdentity). */
  readonly fileIdentity?: (path: string) => string | null;
  /** A store the proxy already holds (PostgreSQL: one pool); the API uses it and leaves closing it to the owner. */
  readonly store?: RoutingStore;
  /** Replication membership for GET /api/v1/cluster (replication on). */
  readonly cluster?: () => ClusterStatus;
}

export interface RunningApi {
  readonly address: HostPort;
  close(): Promise<void>;
}

/** The API cannot start; `variable` is the setting to look at. */
export class ApiStartError extends Error {
  readonly variable: string;
  constructor(variable: string, message: string) {
    super(`${variable}: ${message}`);
    this.variable = variable;
    this.name = "ApiStartError";
  }
}

export async function startApi(host: ApiHost): Promise<RunningApi | null> {
  const { config, log, now } = host;
  if (!config.apiEnabled) return null;
  const refresh = () => host.refreshRoutes?.();
  const ownStore = host.store === undefined;
  let store: RoutingStore;
  try {
    // Waits for a locked file on timers, never inside the driver (store/api-store.ts): the data path shares this thread.
    store = host.store ?? openApiStore(config.dbPath, {
      now,
      fileIdentity: host.fileIdentity ? () => host.fileIdentity!(config.dbPath) : undefined,
    });
  } catch (err) {
    throw new ApiStartError("EDGEPROXY_DB_PATH", `the API cannot open ${config.dbPath}: ${(err as Error).message}`);
  }
  const startedAtMs = now();
  const app = createApi({
    store, now, log, startedAtMs,
    heartbeatTtlMs: config.heartbeatTtlMs,
    token: config.apiToken,
    routableBackends: host.routableBackends,
    status: host.status,
    onChange: refresh,
    ...(host.cluster ? { cluster: host.cluster } : {}),
  });
  let server;
  try {
    server = await serveHttp(config.apiListen, (request) => app.fetch(request));
  } catch (err) {
    if (ownStore) await store.close();
    const { host: h, port } = config.apiListen;
    throw new ApiStartError("EDGEPROXY_API_LISTEN_ADDR", `cannot listen on ${hostPort(h, port)}: ${(err as Error).message}`);
  }
  const reaper = new HeartbeatReaper(store, config.heartbeatTtlMs, log, startedAtMs, refresh);
  reaper.start(now);
  const { address } = server;
  log.info("edgeProxy API listening", {
    addr: hostPort(address.host, address.port),
    auth: config.apiToken !== null ? "bearer token" : "none",
    heartbeat_ttl_secs: config.heartbeatTtlMs / 1000,
  });
  return {
    address,
    async close() {
      await reaper.stop();
      await server.close();
      if (ownStore) await store.close();
    },
  };
}

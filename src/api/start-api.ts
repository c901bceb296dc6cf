// Runs the auto-discovery API inside the proxy process: its own routing-store handle (changes stamped
// source "api"), the Hono app served on this runtime's HTTP server, and the heartbeat reaper.
// One component of the control plane, in the list only when EDGEPROXY_API_ENABLED.
import type { Config } from "../config.ts";
import type { Logger } from "../core/logger.ts";
import type { HostPort } from "../runtime/types.ts";
import { serveHttp } from "../runtime/http-server.ts";
import { openApiStore } from "../store/api-store.ts";
import type { RoutingStore } from "../store/routing-store.ts";
import { HeartbeatReaper, sweepIntervalMs } from "./heartbeat-reaper.ts";
import type { Component } from "../core/component.ts";
import { SettingError } from "../core/setting-error.ts";
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
  /** A store the proxy already holds (PostgreSQL: one pool), asked at start; the API uses it and leaves
   *  closing it to the owner. None: the API opens its own handle on EDGEPROXY_DB_PATH. */
  readonly store?: () => RoutingStore | null;
  /** Replication membership for GET /api/v1/cluster (replication on). */
  readonly cluster?: () => ClusterStatus;
}

/** The API as a component of the running proxy (control plane): start opens its store and serves the
 *  app, every tick sweeps expired heartbeats, stop closes both. Throws a SettingError at start. */
export class ApiService implements Component {
  readonly name = "api";
  #server: { readonly address: HostPort; close(): Promise<void> } | null = null;
  #store: RoutingStore | null = null;
  #reaper: HeartbeatReaper | null = null;

  readonly host: ApiHost;
  constructor(host: ApiHost) {
    this.host = host;
  }

  /** Where it listens, once started. */
  get address(): HostPort | null {
    return this.#server?.address ?? null;
  }

  async start(): Promise<void> {
    const { config, log, now } = this.host;
    const refresh = () => this.host.refreshRoutes?.();
    const shared = this.host.store?.() ?? null;
    const ownStore = shared === null;
    let store: RoutingStore;
    try {
      // Waits for a locked file on timers, never inside the driver (api-store.ts): the data path shares this thread.
      store = shared ?? openApiStore(config.dbPath, {
        now,
        fileIdentity: this.host.fileIdentity ? () => this.host.fileIdentity!(config.dbPath) : undefined,
      });
    } catch (err) {
      throw new SettingError("EDGEPROXY_DB_PATH", `the API cannot open ${config.dbPath}: ${(err as Error).message}`);
    }
    const startedAtMs = now();
    const app = createApi({
      store, now, log, startedAtMs,
      heartbeatTtlMs: config.heartbeatTtlMs,
      token: config.apiToken,
      routableBackends: this.host.routableBackends,
      status: this.host.status,
      onChange: refresh,
      ...(this.host.cluster ? { cluster: this.host.cluster } : {}),
    });
    try {
      this.#server = await serveHttp(config.apiListen, (request) => app.fetch(request));
    } catch (err) {
      if (ownStore) await store.close();
      const { host: h, port } = config.apiListen;
      throw new SettingError("EDGEPROXY_API_LISTEN_ADDR", `cannot listen on ${hostPort(h, port)}: ${(err as Error).message}`);
    }
    if (ownStore) this.#store = store;
    this.#reaper = new HeartbeatReaper(store, config.heartbeatTtlMs, log, startedAtMs, refresh);
    const { address } = this.#server;
    log.info("edgeProxy API listening", {
      addr: hostPort(address.host, address.port),
      auth: config.apiToken !== null ? "bearer token" : "none",
      heartbeat_ttl_secs: config.heartbeatTtlMs / 1000,
    });
  }

  periodMs(): number {
    return sweepIntervalMs(this.host.config.heartbeatTtlMs);
  }

  async tick(nowMs: number): Promise<void> {
    await this.#reaper?.sweep(nowMs);
  }

  async stop(): Promise<void> {
    await this.#reaper?.settled();
    await this.#server?.close();
    await this.#store?.close();
  }
}

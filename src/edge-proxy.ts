// Wires one running edgeProxy from a Config: store → route table → WASM engine → listener.
import type { Config } from "./config.ts";
import type { Listener, Transport } from "./runtime/types.ts";
import type { Logger } from "./infra/log.ts";
import type { GeoLocator } from "./proxy/router.ts";
import { AffinityTable } from "./core/affinity.ts";
import { RouteTable } from "./core/route-table.ts";
import { regionTable } from "./core/regions.ts";
import { createWasmEngine } from "./engine/wasm-engine.ts";
import { Router } from "./proxy/router.ts";
import { createClientHandler, type ClientHandler } from "./proxy/handle-client.ts";
import { RouteSync } from "./infra/route-sync.ts";
import { openRoutingSource, RoutingStartError } from "./infra/routing-source.ts";
import { createMaxmindResolver } from "./geo/maxmind-resolver.ts";
import { noGeo } from "./geo/no-geo.ts";
import { ApiStartError, startApi } from "./api/start-api.ts";
import { liveCounts, routableCount } from "./infra/route-counts.ts";
import { LiveStatePublisher } from "./infra/live-state.ts";
import { openLiveTable } from "./store/live-table.ts";

export interface EdgeProxyServices {
  readonly transport: Transport;
  readonly readFile: (path: string) => Promise<Uint8Array>;
  readonly fileIdentity: (path: string) => string | null;
  readonly log: Logger;
  readonly now: () => number;
}

export interface EdgeProxy {
  readonly listener: Listener;
  readonly router: Router;
  readonly routeSync: RouteSync;
  readonly handler: ClientHandler;
  close(): Promise<void>;
}

export class StartupError extends Error {
  constructor(readonly variable: string, message: string) {
    super(`${variable}: ${message}`);
    this.name = "StartupError";
  }
}

async function openGeo(config: Config, services: EdgeProxyServices): Promise<GeoLocator> {
  const regionOf = regionTable(config.regionOverrides);
  if (config.geoipPath === null) {
    services.log.warn("EDGEPROXY_GEOIP_PATH is not set: no geo tier, clients are routed by region of this POP, load and weight only");
    return noGeo;
  }
  let bytes: Uint8Array;
  try {
    bytes = await services.readFile(config.geoipPath);
  } catch (err) {
    throw new StartupError("EDGEPROXY_GEOIP_PATH", `cannot read ${config.geoipPath}: ${(err as Error).message}`);
  }
  try {
    return createMaxmindResolver(bytes, regionOf);
  } catch (err) {
    throw new StartupError("EDGEPROXY_GEOIP_PATH", `${config.geoipPath} is not a MaxMind GeoIP2/GeoLite2 database: ${(err as Error).message}`);
  }
}

export async function startEdgeProxy(config: Config, services: EdgeProxyServices): Promise<EdgeProxy> {
  const { log, now } = services;
  const geo = await openGeo(config, services);

  const engine = createWasmEngine(config.maxBackends);
  const table = new RouteTable(engine, config.region);
  let routing;
  let routeSync;
  try {
    routing = openRoutingSource(config, services); // libSQL file or PostgreSQL (EDGEPROXY_POSTGRES_ENABLED)
    routeSync = new RouteSync(routing.store, table, log, { now, keeper: routing.keeper });
    await routing.start(routeSync);
  } catch (err) {
    if (err instanceof RoutingStartError) throw new StartupError(err.variable, err.message.slice(err.variable.length + 2));
    throw err;
  }

  const affinity = new AffinityTable(config.bindingTtlMs, config.bindingMax);
  const router = new Router(engine, table, affinity, geo);
  router.seed((Math.random() * 0x1_0000_0000) >>> 0);
  const handler = createClientHandler({
    transport: services.transport,
    router,
    log,
    now,
    policy: () => config,
  });

  let listener;
  try {
    listener = await services.transport.listen({ host: config.listen.host, port: config.listen.port }, handler);
  } catch (err) {
    await routing.close();
    const { host, port } = config.listen;
    throw new StartupError("EDGEPROXY_LISTEN_ADDR", `cannot listen on ${host.includes(":") ? `[${host}]` : host}:${port}: ${(err as Error).message}`);
  }

  let api;
  try {
    api = await startApi({ config, log, now, routableBackends: () => routableCount(table, engine.capacity), refreshRoutes: () => void routeSync.refresh(), fileIdentity: services.fileIdentity, store: routing.kind === "postgres" ? routing.store : undefined });
  } catch (err) {
    await listener.close();
    await routing.close();
    if (err instanceof ApiStartError) throw new StartupError(err.variable, err.message.slice(err.variable.length + 2));
    throw err;
  }
  const live = new LiveStatePublisher(
    // A short busy timeout: the driver is synchronous, and a CLI writer holding the lock must not
    // stall the data path; a skipped publish is retried at the next interval.
    openLiveTable(config.dbPath, { busyTimeoutMs: 20 }), () => liveCounts(table, engine.capacity, (slot) => engine.active(slot)), config.dbReloadMs, log);
  live.start(now);

  log.info("edgeProxy listening", { runtime: listener.runtime, addr: `${listener.address.host}:${listener.address.port}`, region: config.region, backends: table.size, db: routing.where });

  const timers = [
    setInterval(() => void routeSync.refresh(), routing.reloadMs),
    setInterval(() => {
      const removed = affinity.gc(now());
      if (removed > 0) log.debug("affinity gc", { removed, bindings: affinity.size });
    }, config.bindingGcIntervalMs),
  ];

  return {
    listener,
    router,
    routeSync,
    handler,
    async close() {
      for (const t of timers) clearInterval(t);
      await api?.close();
      live.stop();
      await listener.close();
      for (const splice of handler.inFlight) splice.abort();
      await routing.close();
    },
  };
}

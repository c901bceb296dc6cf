// Wires one running edgeProxy from a Config: store → route table → WASM engine → listener.
import type { Config } from "./config.ts";
import type { Listener, Transport } from "./runtime/types.ts";
import type { Logger } from "./lifecycle/log.ts";
import type { GeoLocator } from "./proxy/router.ts";
import { RouteTable } from "./core/route-table.ts";
import { regionTable } from "./core/regions.ts";
import { createSharedEngine } from "./engine/wasm-engine.ts";
import { affinityCapacityFor, bucketCapacityFor } from "./engine/layout.ts";
import { CircuitGuard } from "./proxy/circuit-guard.ts";
import type { CircuitState } from "./metrics/metrics-sources.ts";
import { createRateGate } from "./proxy/rate-gate.ts";
import { Router } from "./proxy/router.ts";
import { createClientHandler, type ClientHandler } from "./proxy/handle-client.ts";
import { RouteSync } from "./routes/route-sync.ts";
import { openRoutingSource, RoutingStartError } from "./routes/routing-source.ts";
import { createMaxmindResolver } from "./geo/maxmind-resolver.ts";
import { noGeo } from "./geo/no-geo.ts";
import { ApiStartError, startApi } from "./api/start-api.ts";
import { liveCounts } from "./routes/route-counts.ts";
import { LiveStatePublisher } from "./routes/live-state.ts";
import { openLiveTable } from "./store/live-table.ts";
import { Observability } from "./metrics/observability.ts";
import { MetricsStartError } from "./metrics/metrics-server.ts";
import { drainConnections } from "./lifecycle/shutdown.ts";
import type { MetricsSources } from "./metrics/metrics-sources.ts";
import { HealthChecker } from "./health/health-checker.ts";
import { probeFor } from "./health/health-probe.ts";
import { BackendPool } from "./pool/backend-pool.ts";
import { withOverrides } from "./core/backend-overrides.ts";
import { baseSettings, Settings } from "./settings/settings.ts";
import { ConfigWatch } from "./settings/config-watch.ts";
import { SettingsFileError } from "./settings/settings-file.ts";
import { Replicator, REPLICATION_TICK_MS } from "./replication/replicator.ts";
import { statusPageCluster } from "./replication/status-page-view.ts";
import { startTlsTermination, TlsStartError, type TlsTermination } from "./tls/tls-termination.ts";
import { createStatusPage } from "./status/status-page.ts";
import type { CircuitStateCode } from "./status/status-sources.ts";
import { trafficTotals } from "./proxy/traffic-totals.ts";
import { VERSION } from "./api/version.ts";
import { ProxyProtocol } from "./proxy/proxy-protocol.ts";

export interface EdgeProxyServices {
  readonly transport: Transport;
  readonly readFile: (path: string) => Promise<Uint8Array>;
  readonly fileIdentity: (path: string) => string | null;
  readonly log: Logger;
  readonly now: () => number;
  /** State of other features read by the metrics at scrape time. */
  readonly metricsSources?: MetricsSources;
}

export interface EdgeProxy {
  readonly listener: Listener;
  readonly router: Router;
  readonly routeSync: RouteSync;
  readonly handler: ClientHandler;
  /** Reloadable settings (env values, overridden by EDGEPROXY_CONFIG_FILE). */
  readonly settings: Settings;
  /** The TLS listener when EDGEPROXY_TLS_ENABLED. */
  readonly tls: TlsTermination | null;
  readonly observability: Observability;
  /** Per-backend circuits: state(slot), transitions (rate-limited connections: handler.counters.rateLimited). */
  readonly circuits: CircuitGuard;
  /** Graceful: stop accepting, let in-flight connections finish up to EDGEPROXY_SHUTDOWN_TIMEOUT_SECS. */
  /** Active health checks (null when EDGEPROXY_HEALTH_CHECK_ENABLED is off): probeHealthy(id) for metrics. */
  readonly health: HealthChecker | null;
  /** Backend connection pool (null when EDGEPROXY_POOL_ENABLED is off): stats, idleCount(id) for metrics. */
  readonly pool: BackendPool | null;
  /** PROXY protocol sending and accept gate (stats for metrics and tests). */
  readonly proxyProtocol: ProxyProtocol;
  close(): Promise<void>;
}

export class StartupError extends Error {
  readonly variable: string;
  constructor(variable: string, message: string) {
    super(`${variable}: ${message}`);
    this.variable = variable;
    this.name = "StartupError";
  }
}

/** Rethrows a component's start error that names the variable to fix as a StartupError. */
/** A component's start error (each names the setting to look at) → the StartupError main.ts reports. */
function asStartupError(err: unknown): never {
  if (err instanceof RoutingStartError || err instanceof ApiStartError || err instanceof MetricsStartError) {
    throw new StartupError(err.variable, err.message.slice(err.variable.length + 2)); // their message starts "VARIABLE: "
  }
  if (err instanceof SettingsFileError || err instanceof TlsStartError) throw new StartupError(err.variable, err.message);
  throw err;
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
  const configFile = config.configWatch.file === null ? null : await ConfigWatch.open(config.configWatch.file, baseSettings(config), services.readFile, log).catch(asStartupError);
  const settings = configFile?.settings ?? new Settings(baseSettings(config));

  // Backend table, live counts, circuits, token buckets and affinity in one shared memory (issue 11:
  // worker threads attach to engine.memory on lanes 1..; one lane while the proxy runs one thread).
  const engine = createSharedEngine({
    capacity: config.maxBackends,
    bucketCapacity: bucketCapacityFor(config.rateLimit.maxClients),
    affinityCapacity: affinityCapacityFor(config.bindingMax),
  });
  engine.seedBuckets((Math.random() * 0x1_0000_0000) >>> 0);
  const table = new RouteTable(engine, config.region);
  let routing;
  let routeSync;
  try {
    routing = openRoutingSource(config, services); // libSQL file or PostgreSQL (EDGEPROXY_POSTGRES_ENABLED)
    routeSync = new RouteSync(routing.store, table, log, { now, keeper: routing.keeper, adjust: (snapshot) => withOverrides(snapshot, settings.current().backends) });
    await routing.start(routeSync);
  } catch (err) {
    asStartupError(err);
  }
  settings.onChange((next, previous) => { if (next.backends !== previous.backends) routeSync.reapply(); });

  // ── replication component (issue 10): start/stop/tick; belongs in the component list of issue 9 ──
  let replication: Replicator | null = null;
  if (config.replication.enabled) {
    try {
      replication = Replicator.open({ config: config.replication, dbPath: config.dbPath, region: config.region, heartbeatTtlMs: config.heartbeatTtlMs, log, now, onChanged: () => void routeSync.refresh() });
    } catch (err) {
      await routing.close();
      throw new StartupError("EDGEPROXY_DB_PATH", `replication cannot open ${config.dbPath}: ${(err as Error).message}`);
    }
  }
  // ── end replication component ──

  const affinity = engine.bindings(config.bindingTtlMs);
  // Read on every use: a settings reload may swap them.
  const rateLimitSettings = () => settings.current().rateLimit, circuitSettings = () => settings.current().circuit;
  const circuits = new CircuitGuard(engine, (slot) => table.backendAt(slot), circuitSettings, log);
  const router = new Router(engine, table, affinity, geo, circuits);
  router.seed((Math.random() * 0x1_0000_0000) >>> 0);
  let pool: BackendPool | null = null;
  const health = settings.current().healthCheck.enabled // at start only: the checker's timers are not started later
    ? new HealthChecker({ table, engine, settings: () => settings.current().healthCheck, probe: probeFor(services.transport), now, log, onFlip: (b, up) => { if (!up) pool?.drain(b.id); } })
    : null;
  if (config.pool.enabled) {
    pool = new BackendPool({
      connect: services.transport.connect, settings: () => config.pool, now, log,
      routable: (id) => {
        const slot = table.slotOf(id);
        const backend = slot === undefined ? null : table.backendAt(slot);
        return backend !== null && backend.healthy && !health?.isDown(id) ? backend : null;
      },
    });
  }
  // PROXY protocol (issue 12): the handler's hooks, the TCP listener's accept gate, metrics source.
  const proxyProtocol = new ProxyProtocol({ config: config.proxyProtocol, overrides: () => settings.current().backends, hasConfigFile: configFile !== null, log });
  const observability = new Observability({
    metrics: config.metrics, runtime: services.transport.runtime, table, engine, now, log, handler: () => handler,
    sources: {
      storeUp: () => !routeSync.failing,
      rateLimited: () => handler.counters.rateLimited,
      circuitState: (slot) => circuits.state(slot) as CircuitState,
      circuitTransitions: (id) => circuits.transitionsOf(id),
      ...(health ? { probeHealthy: (slot: number) => { const b = table.backendAt(slot); return b === null || health.probeHealthy(b.id) !== false; } } : {}),
      ...(config.proxyProtocol.trusted !== null ? { proxyHeaders: proxyProtocol.stats } : {}),
      ...(replication ? { replication: () => replication.stats } : {}),
      ...services.metricsSources,
    },
  });
  const handler: ClientHandler = createClientHandler({
    observer: observability.observer,
    pool: pool ?? undefined,
    transport: services.transport,
    router,
    log,
    now,
    policy: () => config,
    rateGate: createRateGate(engine, rateLimitSettings),
    proxyProtocol: proxyProtocol.hooks,
  });

  let listener;
  try {
    listener = await services.transport.listen({ host: config.listen.host, port: config.listen.port }, proxyProtocol.listenerEntry(handler));
  } catch (err) {
    await routing.close();
    const { host, port } = config.listen;
    throw new StartupError("EDGEPROXY_LISTEN_ADDR", `cannot listen on ${host.includes(":") ? `[${host}]` : host}:${port}: ${(err as Error).message}`);
  }

  const tls = !config.tls.enabled ? null : await startTlsTermination(config.tls, { transport: services.transport, onClient: handler, readFile: services.readFile, log })
    .catch(async (err) => { await listener.close(); await routing.close(); return asStartupError(err); });

  let api;
  try {
    api = await startApi({ config, log, now, status: observability.status, routableBackends: observability.health.routableBackends, refreshRoutes: () => void routeSync.refresh(), fileIdentity: services.fileIdentity, store: routing.kind === "postgres" ? routing.store : undefined, ...(replication ? { cluster: () => replication.cluster() } : {}) });
  } catch (err) {
    await listener.close();
    await tls?.close();
    await routing.close();
    asStartupError(err);
  }
  // ── Status page (issue 12) ─────────────────────────────────────────────────────────────────────
  // Served by the metrics listener at / and /status.json, read from the same live state as the
  // metrics. Replication plugs in here with `cluster: () => …` (a ClusterStatus); without it the page
  // says "replication off". Move this block as a whole when the composition becomes a component list.
  const statusPage = createStatusPage({
    pop: { region: config.region, runtime: services.transport.runtime, version: VERSION, startedAtMs: observability.health.startedAtMs },
    now, table, capacity: engine.capacity, active: (slot) => engine.active(slot),
    totals: () => trafficTotals(handler.counters, handler.inFlight),
    draining: () => observability.drain.draining,
    storeUp: () => !routeSync.failing,
    circuitState: (slot) => circuits.state(slot) as CircuitStateCode,
    circuitsEnabled: () => circuitSettings().enabled,
    ...(health ? { probeState: (id: string) => health.probeState(id) } : {}),
    backendTally: (id) => observability.metrics?.backendTally(id),
    ...(replication ? { cluster: () => statusPageCluster(replication.cluster(), replication.stats) } : {}), // replication (issue 10)
  });
  // ───────────────────────────────────────────────────────────────────────────────────────────────
  try {
    await observability.start(statusPage);
  } catch (err) {
    await api?.close();
    await listener.close();
    await tls?.close();
    await routing.close();
    asStartupError(err);
  }
  const live = new LiveStatePublisher(
    // A short busy timeout: the driver is synchronous, and a CLI writer holding the lock must not
    // stall the data path; a skipped publish is retried at the next interval.
    openLiveTable(config.dbPath, { busyTimeoutMs: 20 }), () => liveCounts(table, engine.capacity, (slot) => engine.active(slot), health ? (id) => health.probeState(id) : undefined), config.dbReloadMs, log);
  live.start(now);
  health?.start();
  pool?.start();

  log.info("edgeProxy listening", { runtime: listener.runtime, addr: `${listener.address.host}:${listener.address.port}`, region: config.region, backends: table.size, db: routing.where });
  if (config.proxyProtocol.send !== "off" || config.proxyProtocol.trusted !== null) {
    log.info("PROXY protocol", { send: config.proxyProtocol.send, trusted: config.proxyProtocol.trusted?.text.join(",") ?? "none", timeout_ms: config.proxyProtocol.timeoutMs });
  }
  if (tls) log.info("TLS listening", { addr: `${tls.listener.address.host}:${tls.listener.address.port}`, cert: config.tls.certPath, handshake_timeout_ms: config.tls.handshakeTimeoutMs });

  const timers = [
    setInterval(() => void routeSync.refresh(), routing.reloadMs),
    setInterval(() => {
      const removed = affinity.gc(now());
      if (removed > 0) log.debug("affinity gc", { removed, bindings: affinity.size });
    }, config.bindingGcIntervalMs),
    // Open circuits become half-open on time (logged, visible to metrics) even with no traffic.
    setInterval(() => circuits.advance(now()), 1000),
  ];
  if (configFile && config.configWatch.enabled) timers.push(setInterval(() => void configFile.check(), config.configWatch.intervalMs));
  if (tls) timers.push(setInterval(() => void tls.check(), config.configWatch.intervalMs));
  // replication component: started last (it only connects in the background), stopped first
  if (replication) {
    replication.start();
    timers.push(setInterval(() => replication.tick(now()), REPLICATION_TICK_MS));
  }

  return {
    listener,
    router,
    routeSync,
    handler,
    observability,
    circuits,
    health,
    pool,
    settings,
    tls,
    proxyProtocol,
    async close() {
      observability.drain.begin(); // /health answers "draining" from here on
      await listener.close();
      await tls?.close();
      await drainConnections({ active: () => handler.counters.active, inFlight: handler.inFlight }, config.shutdownTimeoutMs, log, now);
      for (const t of timers) clearInterval(t);
      await replication?.stop();
      health?.stop();
      pool?.close();
      await api?.close();
      await observability.close();
      live.stop();
      await routing.close();
    },
  };
}

// The control plane: runs once per proxy. It owns the state every data plane decides on (SharedState:
// the WASM engine, route table, affinity, circuits, geo, settings, metrics observer, TLS certificate)
// and the components that keep it current: config file, geo database, routing store, health checks,
// circuit and affinity housekeeping, the API, metrics and the live state for `db show`.
import type { Config } from "./config.ts";
import type { Clock, Transport } from "./runtime/types.ts";
import type { Logger } from "./lifecycle/log.ts";
import type { Component } from "./core/component.ts";
import type { ConnectionObserver } from "./proxy/connection-observer.ts";
import type { AffinityBindings } from "./core/affinity.ts";
import { RouteTable } from "./core/route-table.ts";
import { createSharedEngine, type WasmEngine } from "./engine/wasm-engine.ts";
import { affinityCapacityFor, bucketCapacityFor } from "./engine/layout.ts";
import { publishBytesFor, routePublisher } from "./engine/route-bus.ts";
import { CircuitGuard } from "./proxy/circuit-guard.ts";
import type { CircuitState } from "./metrics/metrics-sources.ts";
import type { MetricsSources } from "./metrics/metrics-sources.ts";
import { Observability, type Traffic } from "./metrics/observability.ts";
import { GeoDatabase } from "./geo/geo-database.ts";
import { ConfigFile } from "./settings/config-file.ts";
import { baseSettings, Settings } from "./settings/settings.ts";
import { Routes } from "./routes/routes.ts";
import { liveCounts } from "./routes/route-counts.ts";
import { LiveStatePublisher } from "./routes/live-state.ts";
import { openLiveTable } from "./store/live-table.ts";
import { HealthChecker } from "./health/health-checker.ts";
import { probeFor } from "./health/health-probe.ts";
import { ApiService } from "./api/start-api.ts";
import { TlsCertificate } from "./tls/tls-termination.ts";
import { ProxyProtocol } from "./proxy/proxy-protocol.ts";
import { ReplicationComponent } from "./replication/replication-component.ts";
import { statusPageCluster } from "./replication/status-page-view.ts";
import { createStatusPage } from "./status/status-page.ts";
import { REPLICATION_OFF } from "./status/status-report.ts";
import type { CircuitStateCode } from "./status/status-sources.ts";
import { trafficTotals } from "./proxy/traffic-totals.ts";
import { VERSION } from "./api/version.ts";

export interface ControlPlaneServices {
  readonly transport: Transport;
  readonly readFile: (path: string) => Promise<Uint8Array>;
  readonly fileIdentity: (path: string) => string | null;
  readonly log: Logger;
  readonly clock: Clock;
  /** State of other features read by the metrics at scrape time. */
  readonly metricsSources?: MetricsSources;
}

/** What the data planes see of the control plane. */
export interface SharedState {
  readonly engine: WasmEngine;
  readonly table: RouteTable;
  /** Client → backend bindings, in the engine's shared memory (one table for every data plane). */
  readonly affinity: AffinityBindings;
  readonly circuits: CircuitGuard;
  readonly geo: GeoDatabase;
  readonly settings: Settings;
  /** Metrics hooks for each connection; undefined when metrics are off. */
  readonly observer: ConnectionObserver | undefined;
  /** The TLS certificate the TLS listeners serve (null when EDGEPROXY_TLS_ENABLED is off). */
  readonly certificate: TlsCertificate | null;
  /** PROXY protocol: the handler's hooks and the TCP listener's accept gate (stats for the metrics). */
  readonly proxyProtocol: ProxyProtocol;
}

/** How the control plane reaches the data planes (built after it). */
export interface DataPlaneLinks {
  /** Client counters and splices of every data plane. */
  readonly traffic: () => Traffic;
  /** A backend's health check just failed: close its pooled sockets now. */
  readonly backendDown: (id: string) => void;
  /** Data planes on worker threads: their circuit transitions per backend (added to this thread's). */
  readonly circuitTransitions?: (id: string) => readonly number[] | undefined;
  /** Data planes on worker threads: their PROXY header counts (instead of this thread's). */
  readonly proxyHeaders?: MetricsSources["proxyHeaders"];
  /** Data planes on worker threads: accepted and active client connections per worker. */
  readonly workers?: MetricsSources["workers"];
}

/** How the data planes run: in this thread, or `workers` worker threads (each its own engine lane). */
export interface ControlPlaneOptions {
  /** Worker threads that will attach to the engine (0: the data planes run in this thread). */
  readonly workers: number;
}

export interface ControlPlane {
  readonly shared: SharedState;
  /** Start order (stopped in reverse). */
  readonly components: readonly Component[];
  readonly routes: Routes;
  readonly health: HealthChecker;
  readonly observability: Observability;
  readonly api: ApiService | null;
  /** Replication of routing.db over NATS (null when EDGEPROXY_REPLICATION_ENABLED is off). */
  readonly replication: ReplicationComponent | null;
}

export function createControlPlane(config: Config, services: ControlPlaneServices, links: DataPlaneLinks, options: ControlPlaneOptions = { workers: 0 }): ControlPlane {
  const { log, clock } = services;
  const now = () => clock.now();
  const settings = new Settings(baseSettings(config));
  // Backend table, live counts, circuits, token buckets and affinity in one shared memory: data planes
  // on worker threads attach to engine.memory (src/engine/), and together they behave as one.
  const engine = createSharedEngine({
    capacity: config.maxBackends,
    bucketCapacity: bucketCapacityFor(config.rateLimit.maxClients),
    affinityCapacity: affinityCapacityFor(config.bindingMax),
    // Lane 0 is this thread's; each worker thread gets its own, and reads route snapshots published here.
    ...(options.workers > 0 ? { lanes: options.workers + 1, publishBytes: publishBytesFor(config.maxBackends) } : {}),
  });
  engine.seedBuckets((Math.random() * 0x1_0000_0000) >>> 0);
  const table = new RouteTable(engine, config.region, options.workers > 0 ? routePublisher(engine) : undefined);
  const affinity = engine.bindings(config.bindingTtlMs);
  const circuits = new CircuitGuard(engine, (slot) => table.backendAt(slot), () => settings.current().circuit, log);
  const geo = new GeoDatabase(config.geoipPath, config.regionOverrides, services.readFile, log);
  const routes = new Routes(config, { log, now, fileIdentity: services.fileIdentity }, table, settings);
  const health = new HealthChecker({
    table, engine, settings: () => settings.current().healthCheck, probe: probeFor(services.transport), clock, log,
    onFlip: (backend, up) => { if (!up) links.backendDown(backend.id); },
  });
  const proxyProtocol = new ProxyProtocol({ config: config.proxyProtocol, overrides: () => settings.current().backends, hasConfigFile: config.configWatch.file !== null, log, now });
  const replication = config.replication.enabled
    ? new ReplicationComponent({ config: config.replication, dbPath: config.dbPath, region: config.region, heartbeatTtlMs: config.heartbeatTtlMs, log, now, onChanged: () => routes.refresh() })
    : null;
  const observability = new Observability({
    metrics: config.metrics, runtime: services.transport.runtime, table, engine, now, log, traffic: links.traffic,
    // Served by the metrics listener at / and /status.json, read from the same live state as the metrics.
    statusPage: (o) => createStatusPage({
      pop: { id: config.replication.popId, region: config.region, runtime: services.transport.runtime, version: VERSION, startedAtMs: o.health.startedAtMs },
      now, table, capacity: engine.capacity, active: (slot) => engine.active(slot),
      totals: () => { const t = links.traffic(); return trafficTotals(t.counters, t.inFlight); },
      draining: () => o.drain.draining,
      storeUp: () => !routes.failing,
      circuitState: (slot) => circuits.state(slot) as CircuitStateCode,
      circuitsEnabled: () => settings.current().circuit.enabled,
      probeState: (id) => health.probeState(id),
      healthChecksEnabled: () => settings.current().healthCheck.enabled,
      backendTally: (id) => o.metrics?.backendTally(id),
      ...(replication ? { cluster: () => { const stats = replication.stats(); return stats === null ? REPLICATION_OFF : statusPageCluster(replication.cluster(), stats); } } : {}),
    }),
    sources: {
      storeUp: () => !routes.failing,
      rateLimited: () => links.traffic().counters.rateLimited,
      circuitState: (slot) => circuits.state(slot) as CircuitState,
      circuitTransitions: links.circuitTransitions === undefined ? (id) => circuits.transitionsOf(id) : (id) => addCounts(circuits.transitionsOf(id), links.circuitTransitions!(id)),
      probeHealthy: (slot) => { const b = table.backendAt(slot); return b === null || health.probeHealthy(b.id) !== false; },
      ...(config.proxyProtocol.trusted !== null ? { proxyHeaders: links.proxyHeaders ?? proxyProtocol.stats } : {}),
      ...(links.workers ? { workers: links.workers } : {}),
      ...(replication ? { replication: () => replication.stats() } : {}),
      ...services.metricsSources,
    },
  });
  const api = !config.apiEnabled ? null : new ApiService({
    config, log, now, status: observability.status, routableBackends: observability.health.routableBackends,
    refreshRoutes: () => routes.refresh(), fileIdentity: services.fileIdentity, store: () => routes.sharedStore,
    ...(replication ? { cluster: () => replication.cluster() } : {}),
  });
  const live = new LiveStatePublisher(
    // A short busy timeout: the driver is synchronous, and a CLI writer holding the lock must not
    // stall the data path; a skipped publish is retried at the next tick.
    openLiveTable(config.dbPath, { busyTimeoutMs: 20 }),
    () => liveCounts(table, engine, { circuitsOn: settings.current().circuit.enabled, probe: (id) => health.probeState(id) }),
    config.dbReloadMs, log, now,
  );
  const certificate = config.tls.enabled ? new TlsCertificate(config.tls, services.readFile, log, config.configWatch.intervalMs) : null;
  const configFile = config.configWatch.file === null ? null
    : new ConfigFile(config.configWatch.file, config.configWatch, baseSettings(config), settings, services.readFile, log);

  const components: Component[] = [
    ...(configFile ? [configFile] : []),
    geo,
    ...(certificate ? [certificate] : []),
    routes,
    health,
    // Open circuits become half-open on time (logged, visible to metrics) even with no traffic.
    { name: "circuit-advance", start() {}, stop() {}, periodMs: () => 1000, tick: (nowMs) => circuits.advance(nowMs) },
    {
      name: "affinity-gc", start() {}, stop() {}, periodMs: () => config.bindingGcIntervalMs,
      tick(nowMs) {
        const removed = affinity.gc(nowMs);
        if (removed > 0) log.debug("affinity gc", { removed, bindings: affinity.size });
      },
    },
    ...(api ? [api] : []),
    observability,
    live,
    // Last: it only connects in the background (a POP cut off from NATS routes and starts all the same).
    ...(replication ? [replication] : []),
  ];
  return {
    shared: { engine, table, affinity, circuits, geo, settings, observer: observability.observer, certificate, proxyProtocol },
    components, routes, health, observability, api, replication,
  };
}

/** Two per-state count arrays added up (either may be missing). */
function addCounts(a: readonly number[] | undefined, b: readonly number[] | undefined): readonly number[] | undefined {
  if (a === undefined || b === undefined) return a ?? b;
  return a.map((n, i) => n + (b[i] ?? 0));
}

// The control plane: runs once per proxy. It owns the state every data plane decides on (SharedState:
// the WASM engine, route table, affinity, circuits, geo, settings, metrics observer, TLS certificate)
// and the components that keep it current: config file, geo database, routing store, health checks,
// circuit and affinity housekeeping, the API, metrics and the live state for `db show`.
import type { Config } from "./config.ts";
import type { Clock, Transport } from "./runtime/types.ts";
import type { Logger } from "./lifecycle/log.ts";
import type { Component } from "./lifecycle/component.ts";
import type { ConnectionObserver } from "./proxy/connection-observer.ts";
import { AffinityTable } from "./core/affinity.ts";
import { RouteTable } from "./core/route-table.ts";
import { createWasmEngine, type WasmEngine } from "./engine/wasm-engine.ts";
import { bucketCapacityFor } from "./engine/layout.ts";
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
  /** Client → backend bindings (moves into the WASM memory with the worker-thread data planes). */
  readonly affinity: AffinityTable;
  readonly circuits: CircuitGuard;
  readonly geo: GeoDatabase;
  readonly settings: Settings;
  /** Metrics hooks for each connection; undefined when metrics are off. */
  readonly observer: ConnectionObserver | undefined;
  /** The TLS certificate the TLS listeners serve (null when EDGEPROXY_TLS_ENABLED is off). */
  readonly certificate: TlsCertificate | null;
}

/** How the control plane reaches the data planes (built after it). */
export interface DataPlaneLinks {
  /** Client counters and splices of every data plane. */
  readonly traffic: () => Traffic;
  /** A backend's health check just failed: close its pooled sockets now. */
  readonly backendDown: (id: string) => void;
}

export interface ControlPlane {
  readonly shared: SharedState;
  /** Start order (stopped in reverse). */
  readonly components: readonly Component[];
  readonly routes: Routes;
  readonly health: HealthChecker;
  readonly observability: Observability;
  readonly api: ApiService | null;
}

export function createControlPlane(config: Config, services: ControlPlaneServices, links: DataPlaneLinks): ControlPlane {
  const { log, clock } = services;
  const now = () => clock.now();
  const settings = new Settings(baseSettings(config));
  const engine = createWasmEngine(config.maxBackends, bucketCapacityFor(config.rateLimit.maxClients));
  engine.seedBuckets((Math.random() * 0x1_0000_0000) >>> 0);
  const table = new RouteTable(engine, config.region);
  const affinity = new AffinityTable(config.bindingTtlMs, config.bindingMax);
  const circuits = new CircuitGuard(engine, (slot) => table.backendAt(slot), () => settings.current().circuit, log);
  const geo = new GeoDatabase(config.geoipPath, config.regionOverrides, services.readFile, log);
  const routes = new Routes(config, { log, now, fileIdentity: services.fileIdentity }, table, settings);
  const health = new HealthChecker({
    table, engine, settings: () => settings.current().healthCheck, probe: probeFor(services.transport), clock, log,
    onFlip: (backend, up) => { if (!up) links.backendDown(backend.id); },
  });
  const observability = new Observability({
    metrics: config.metrics, runtime: services.transport.runtime, table, engine, now, log, traffic: links.traffic,
    sources: {
      storeUp: () => !routes.failing,
      rateLimited: () => links.traffic().counters.rateLimited,
      circuitState: (slot) => circuits.state(slot) as CircuitState,
      circuitTransitions: (id) => circuits.transitionsOf(id),
      probeHealthy: (slot) => { const b = table.backendAt(slot); return b === null || health.probeHealthy(b.id) !== false; },
      ...services.metricsSources,
    },
  });
  const api = !config.apiEnabled ? null : new ApiService({
    config, log, now, status: observability.status, routableBackends: observability.health.routableBackends,
    refreshRoutes: () => routes.refresh(), fileIdentity: services.fileIdentity, store: () => routes.sharedStore,
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
  ];
  return {
    shared: { engine, table, affinity, circuits, geo, settings, observer: observability.observer, certificate },
    components, routes, health, observability, api,
  };
}

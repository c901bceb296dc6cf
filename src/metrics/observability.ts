// Metrics and drain state of one running proxy (control plane): built before the data planes (which
// take the observer), its listener a component. With metrics disabled there is no observer, no
// registry and no listener: the data path does no metrics work at all.
import type { MetricsConfig } from "../config.ts";
import type { SelectionEngine } from "../core/selection.ts";
import type { RuntimeName } from "../runtime/types.ts";
import type { ProxyCounters } from "../proxy/handle-client.ts";
import type { SpliceBytes } from "../proxy/traffic-totals.ts";
import type { Component } from "../core/component.ts";
import type { ConnectionObserver } from "../proxy/connection-observer.ts";
import type { MetricsSources } from "./metrics-sources.ts";
import { createProxyMetrics, type ProxyMetrics } from "./metrics.ts";
import { startMetricsServer, type RunningMetricsServer } from "./metrics-server.ts";
import { routableCount, type RoutedSlots } from "../routes/route-counts.ts";
import { DrainState } from "../lifecycle/shutdown.ts";
import type { HealthSource, HealthStatus } from "../api/health-report.ts";
import { VERSION } from "../api/version.ts";
import type { Logger } from "../lifecycle/log.ts";
import type { StatusPage } from "../status/status-page.ts";
import { hostPort } from "../core/host-port.ts";

export interface ObservabilityDeps {
  readonly metrics: MetricsConfig;
  readonly runtime: RuntimeName;
  readonly table: RoutedSlots;
  readonly engine: Pick<SelectionEngine, "capacity" | "active" | "isRoutable">;
  /** The data planes' client counters and splices, read at scrape time. */
  readonly traffic: () => Traffic;
  readonly now: () => number;
  readonly log: Logger;
  readonly sources?: MetricsSources;
  /** The status page served beside the exposition (/, /status.json), built at start from this. */
  readonly statusPage?: (observability: Observability) => StatusPage;
}

/** What the client handlers of every data plane add up to. */
export interface Traffic {
  readonly counters: Readonly<ProxyCounters>;
  readonly inFlight: Iterable<SpliceBytes>;
}

export class Observability implements Component {
  readonly name = "metrics";
  readonly drain = new DrainState();
  readonly metrics: ProxyMetrics | null;
  readonly health: HealthSource;
  readonly #deps: ObservabilityDeps;
  #server: RunningMetricsServer | null = null;

  constructor(deps: ObservabilityDeps) {
    this.#deps = deps;
    const { table, engine } = deps;
    const routableBackends = () => routableCount(table, engine);
    this.health = { status: this.status, routableBackends, startedAtMs: deps.now(), now: deps.now, version: VERSION };
    this.metrics = deps.metrics.enabled
      ? createProxyMetrics({
          runtime: deps.runtime, table, capacity: engine.capacity, active: (slot) => engine.active(slot),
          counters: () => deps.traffic().counters, inFlight: () => deps.traffic().inFlight,
          routableBackends, draining: () => this.drain.draining, sources: deps.sources,
        })
      : null;
  }

  get observer(): ConnectionObserver | undefined {
    return this.metrics?.observer;
  }

  readonly status = (): HealthStatus => (this.drain.draining ? "draining" : "ok");

  /** Opens the metrics listener, with the status page when one is given (throws a SettingError naming the variable). */
  async start(): Promise<RunningMetricsServer | null> {
    if (this.metrics === null) return null;
    const server = await startMetricsServer(this.#deps.metrics, this.metrics, this.health, this.#deps.statusPage?.(this));
    const { host, port } = server.address;
    this.#deps.log.info("edgeProxy metrics listening", { addr: hostPort(host, port), path: this.#deps.metrics.path });
    this.#server = server;
    return server;
  }

  stop(): Promise<void> {
    return this.close();
  }

  async close(): Promise<void> {
    await this.#server?.close();
    this.#server = null;
  }
}

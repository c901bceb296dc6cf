// The Prometheus registry of one running proxy. The data path only bumps plain counters (the
// handler's ProxyCounters, BackendTallies) and observes two histograms; everything else is read
// from live state by collect() at scrape time.
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Backend } from "../core/types.ts";
import { CIRCUIT_STATE_NAMES } from "../core/circuit.ts";
import { PROXY_REJECTIONS } from "../core/proxy-protocol/header.ts";
import type { RuntimeName } from "../runtime/types.ts";
import type { SpliceBytes } from "../proxy/traffic-totals.ts";
import type { ConnectionObserver } from "../proxy/connection-observer.ts";
import type { ProxyCounters } from "../proxy/handle-client.ts";
import type { MetricsSources } from "./metrics-sources.ts";
import { BackendTallies, type BackendTally } from "./backend-tallies.ts";
import { trafficTotals } from "../proxy/traffic-totals.ts";
import { forEachRouted, type RoutedSlots } from "../routes/route-counts.ts";
import { registerProcessMetrics } from "./process-metrics.ts";
import { registerReplicationMetrics } from "./replication-metrics.ts";

export interface ProxyMetricsDeps {
  readonly runtime: RuntimeName;
  readonly table: RoutedSlots;
  readonly capacity: number;
  /** Active connections of a slot as the selection engine counts them. */
  readonly active: (slot: number) => number;
  /** The handler's counters and splices (read lazily: the handler is built after the metrics). */
  readonly counters: () => Readonly<ProxyCounters>;
  readonly inFlight: () => Iterable<SpliceBytes>;
  readonly routableBackends: () => number;
  readonly draining: () => boolean;
  readonly sources?: MetricsSources;
}

export interface ProxyMetrics {
  readonly registry: Registry;
  readonly observer: ConnectionObserver;
  /** Connections opened to and failed connects of a backend so far (the status page shows them too). */
  backendTally(id: string): Readonly<BackendTally> | undefined;
  /** The exposition text (series of departed backends removed first). */
  render(): Promise<string>;
  readonly contentType: string;
}

const BACKEND_LABELS = ["backend", "region"] as const;

/** Backend connect time: loopback and LAN to a slow WAN hop or a timeout-bound attempt. */
const RTT_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
/** Routing decisions take microseconds; the upper buckets catch a stalled event loop. */
const DECISION_BUCKETS = [0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.01];

export function createProxyMetrics(deps: ProxyMetricsDeps): ProxyMetrics {
  const { table, capacity, sources = {} } = deps;
  const registry = new Registry();
  const registers = [registry];
  const tallies = new BackendTallies();
  const each = (fn: (backend: Backend, slot: number) => void) => forEachRouted(table, capacity, fn);
  const labels = (b: Backend) => ({ backend: b.id, region: b.region });
  const totals = () => trafficTotals(deps.counters(), deps.inFlight());
  const counterOf = (name: string, help: string, value: () => number) =>
    new Counter({ name, help, registers, collect() { this.reset(); this.inc(value()); } });
  const gaugeOf = (name: string, help: string, value: () => number) =>
    new Gauge({ name, help, registers, collect() { this.set(value()); } });

  counterOf("edgeproxy_connections_total", "Client connections accepted.", () => deps.counters().accepted);
  gaugeOf("edgeproxy_connections_active", "Client connections open now (connecting or proxied).", () => deps.counters().active);
  counterOf("edgeproxy_bytes_received_total", "Bytes received from clients and forwarded to backends (open connections included).", () => totals().bytesReceived);
  counterOf("edgeproxy_bytes_sent_total", "Bytes sent to clients from backends (open connections included).", () => totals().bytesSent);
  counterOf("edgeproxy_connect_failures_total", "Backend connect attempts that failed (refused, timed out), all backends.", () => deps.counters().connectFailures);
  counterOf("edgeproxy_no_backend_total", "Client connections closed because no backend could take them.", () => deps.counters().noBackend);
  counterOf("edgeproxy_rate_limited_connections_total", "Client connections refused by the per-IP rate limiter.", () => sources.rateLimited?.() ?? 0);
  gaugeOf("edgeproxy_backends_routable", "Healthy backends in the current route snapshot.", deps.routableBackends);
  gaugeOf("edgeproxy_routing_store_up", "1 when the routing store answered its last read.", () => (sources.storeUp?.() ?? true) ? 1 : 0);
  if (sources.replication) registerReplicationMetrics(registry, sources.replication);
  gaugeOf("edgeproxy_draining", "1 while shutting down: the listener is closed and in-flight connections finish.", () => deps.draining() ? 1 : 0);

  new Counter({
    name: "edgeproxy_backend_connections_total", help: "Connections opened to each backend.", labelNames: BACKEND_LABELS, registers,
    collect() { this.reset(); each((b) => this.inc(labels(b), tallies.get(b.id)?.connections ?? 0)); },
  });
  new Gauge({
    name: "edgeproxy_backend_connections_active", help: "Connections to each backend now (including ones still connecting).", labelNames: BACKEND_LABELS, registers,
    collect() { this.reset(); each((b, slot) => this.set(labels(b), deps.active(slot))); },
  });
  new Counter({
    name: "edgeproxy_backend_errors_total", help: "Failed connect attempts (refused, timed out) per backend.", labelNames: BACKEND_LABELS, registers,
    collect() { this.reset(); each((b) => this.inc(labels(b), tallies.get(b.id)?.errors ?? 0)); },
  });
  new Gauge({
    name: "edgeproxy_backend_healthy", help: "1 when the backend is healthy (routing store, and active checks when enabled).", labelNames: BACKEND_LABELS, registers,
    collect() { this.reset(); each((b, slot) => this.set(labels(b), b.healthy && (sources.probeHealthy?.(slot) ?? true) ? 1 : 0)); },
  });
  new Gauge({
    name: "edgeproxy_backend_circuit_state", help: "Circuit breaker state per backend: 0 closed, 1 open, 2 half-open.", labelNames: BACKEND_LABELS, registers,
    collect() { this.reset(); each((b, slot) => this.set(labels(b), sources.circuitState?.(slot) ?? 0)); },
  });
  new Counter({
    name: "edgeproxy_circuit_transitions_total", help: "Circuit breaker state changes per backend, by the state moved to (closed, open, half-open).",
    labelNames: [...BACKEND_LABELS, "to"], registers,
    collect() {
      this.reset();
      each((b) => sources.circuitTransitions?.(b.id)?.forEach((n, to) => { if (n > 0) this.inc({ ...labels(b), to: CIRCUIT_STATE_NAMES[to] ?? String(to) }, n); }));
    },
  });
  const rtt = new Histogram({
    name: "edgeproxy_backend_rtt_seconds", help: "Backend TCP connect time (successful connects).", labelNames: BACKEND_LABELS, buckets: RTT_BUCKETS, registers,
  });
  const decision = new Histogram({
    name: "edgeproxy_decision_duration_seconds", help: "Time to choose a backend (affinity, geo lookup, selection) per attempt.", buckets: DECISION_BUCKETS, registers,
  });

  const proxyHeaders = sources.proxyHeaders;
  if (proxyHeaders !== undefined) {
    new Counter({
      name: "edgeproxy_proxy_protocol_headers_total", help: "PROXY headers accepted from trusted peers, by command (proxy: a real client address; local: the peer's own connection).",
      labelNames: ["command"], registers,
      collect() { this.reset(); this.inc({ command: "proxy" }, proxyHeaders.accepted); this.inc({ command: "local" }, proxyHeaders.local); },
    });
    new Counter({
      name: "edgeproxy_proxy_protocol_rejected_total", help: "Connections closed for their PROXY header: malformed, oversized, truncated, timeout, or sent by an untrusted address.",
      labelNames: ["reason"], registers,
      collect() { this.reset(); for (const reason of PROXY_REJECTIONS) this.inc({ reason }, proxyHeaders.rejected(reason)); },
    });
  }

  const workers = sources.workers;
  if (workers !== undefined) {
    new Counter({
      name: "edgeproxy_worker_connections_accepted_total", help: "Client connections accepted per data-plane worker thread (EDGEPROXY_WORKERS), restarts included.",
      labelNames: ["worker"], registers,
      collect() { this.reset(); for (const w of workers()) this.inc({ worker: String(w.worker) }, w.accepted); },
    });
    new Gauge({
      name: "edgeproxy_worker_connections_active", help: "Client connections open per data-plane worker thread.",
      labelNames: ["worker"], registers,
      collect() { this.reset(); for (const w of workers()) this.set({ worker: String(w.worker) }, w.active); },
    });
    new Counter({
      name: "edgeproxy_worker_restarts_total", help: "Data-plane worker threads restarted after they died.",
      labelNames: ["worker"], registers,
      collect() { this.reset(); for (const w of workers()) this.inc({ worker: String(w.worker) }, w.restarts); },
    });
  }

  registerProcessMetrics(registry, deps.runtime);

  const observer: ConnectionObserver = {
    decided(seconds) { decision.observe(seconds); },
    connected(backend, connectSeconds) {
      tallies.connected(backend);
      if (connectSeconds !== null) rtt.observe(labels(backend), connectSeconds);
    },
    connectFailed(backend) { tallies.failed(backend); },
  };

  function pruneDeparted(): void {
    if (tallies.size === 0) return;
    const current = new Map<string, string>();
    each((b) => current.set(b.id, b.region));
    tallies.prune(current, (id, region) => rtt.remove({ backend: id, region }));
  }

  return {
    registry,
    observer,
    contentType: registry.contentType,
    backendTally: (id) => tallies.get(id),
    async render() {
      pruneDeparted();
      return registry.metrics();
    },
  };
}

// The status page's data (GET /status.json): this POP, traffic totals, every backend in the route table
// with its limits and live count, circuit and health check verdict, and replication. Read from the
// StatusSources at request time, like the metrics at scrape time; nothing here runs on the data path.
import { forEachRouted } from "../routes/route-counts.ts";
import type { ClusterStatus, StatusSources } from "./status-sources.ts";
import type { ConnectionRate } from "./connection-rate.ts";
import { hostPort } from "../core/host-port.ts";

export type CircuitWord = "closed" | "open" | "half-open" | "off";
export type HealthCheckWord = "up" | "down" | "pending" | "off";

export interface BackendStatus {
  readonly id: string;
  readonly app: string;
  readonly region: string;
  readonly country: string | null;
  /** host:port, IPv6 in brackets. */
  readonly address: string;
  readonly weight: number;
  readonly soft_limit: number;
  readonly hard_limit: number;
  readonly active: number;
  /** The routing store's `healthy` column. */
  readonly healthy: boolean;
  readonly circuit: CircuitWord;
  readonly health_check: HealthCheckWord;
  /** Takes new clients now: store healthy, health check not down, circuit not open, below hard limit. */
  readonly routable: boolean;
  readonly connections: number | null;
  readonly errors: number | null;
}

export interface StatusReport {
  readonly pop: {
    readonly id: string; readonly region: string; readonly runtime: string; readonly version: string;
    readonly uptime_secs: number; readonly status: "ok" | "draining"; readonly store_up: boolean;
  };
  readonly totals: {
    readonly connections_total: number;
    /** Null until two reads a second apart. */
    readonly connections_per_sec: number | null;
    readonly active: number;
    readonly bytes_received: number;
    readonly bytes_sent: number;
    readonly connect_failures: number;
    readonly no_backend: number;
    readonly rate_limited: number;
    readonly backends: number;
    readonly routable: number;
  };
  readonly backends: readonly BackendStatus[];
  readonly cluster: ClusterStatus;
}

const CIRCUIT_WORDS = ["closed", "open", "half-open"] as const;
export const REPLICATION_OFF: ClusterStatus = Object.freeze({ replication: "off", pops: Object.freeze([]) });

function address(host: string, port: number): string {
  return hostPort(host, port);
}

function clusterOf(sources: StatusSources): ClusterStatus {
  if (sources.cluster === undefined) return REPLICATION_OFF;
  try {
    return sources.cluster();
  } catch (err) {
    return { replication: "unknown", pops: [], detail: { error: (err as Error).message } };
  }
}

export function statusReport(sources: StatusSources, rate: ConnectionRate): StatusReport {
  const now = sources.now();
  const totals = sources.totals();
  const circuitsOn = sources.circuitState !== undefined && (sources.circuitsEnabled?.() ?? true);
  const backends: BackendStatus[] = [];
  let routable = 0;
  forEachRouted(sources.table, sources.capacity, (b, slot) => {
    const active = sources.active(slot);
    const circuit: CircuitWord = circuitsOn ? CIRCUIT_WORDS[sources.circuitState!(slot)] ?? "closed" : "off";
    const probe = sources.probeState === undefined || sources.healthChecksEnabled?.() === false ? "off" : sources.probeState(b.id) ?? "pending";
    const tally = sources.backendTally?.(b.id);
    const takes = b.healthy && probe !== "down" && circuit !== "open";
    if (takes) routable++; // the /health count: limits are load, not health
    backends.push({
      id: b.id, app: b.app, region: b.region, country: b.country, address: address(b.host, b.port),
      weight: b.weight, soft_limit: b.softLimit, hard_limit: b.hardLimit, active, healthy: b.healthy,
      circuit, health_check: probe, routable: takes && active < b.hardLimit,
      connections: tally?.connections ?? (sources.backendTally ? 0 : null),
      errors: tally?.errors ?? (sources.backendTally ? 0 : null),
    });
  });
  return {
    pop: {
      id: sources.pop.id, region: sources.pop.region, runtime: sources.pop.runtime, version: sources.pop.version,
      uptime_secs: Math.max(0, Math.floor((now - sources.pop.startedAtMs) / 1000)),
      status: sources.draining() ? "draining" : "ok",
      store_up: sources.storeUp?.() ?? true,
    },
    totals: {
      connections_total: totals.accepted,
      connections_per_sec: rate.perSecond(now, totals.accepted),
      active: totals.active,
      bytes_received: totals.bytesReceived,
      bytes_sent: totals.bytesSent,
      connect_failures: totals.connectFailures,
      no_backend: totals.noBackend,
      rate_limited: totals.rateLimited,
      backends: backends.length,
      routable,
    },
    backends,
    cluster: clusterOf(sources),
  };
}

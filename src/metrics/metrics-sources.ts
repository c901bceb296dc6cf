// State owned by other parts of the proxy that the metrics read at scrape time. Every source is
// optional: a feature that is not running reports its neutral value (nothing rate-limited, every
// circuit closed, probes agreeing with the routing store).
import type { ProxyRejection } from "../core/proxy-protocol/header.ts";
import type { ReplicationCounts } from "./replication-metrics.ts";
import type { CircuitState } from "../core/circuit.ts";

/** @deprecated import CircuitState from core/circuit.ts; this re-export goes once edge-proxy.ts does. */
export type { CircuitState };

export interface MetricsSources {
  /** Client connections refused by the rate limiter so far (monotonic). */
  readonly rateLimited?: () => number;
  readonly circuitState?: (slot: number) => CircuitState;
  /** Circuit transitions of a backend so far, indexed by the state moved to (CircuitState). */
  readonly circuitTransitions?: (backendId: string) => readonly number[] | undefined;
  /** Active health check verdict for a slot. */
  readonly probeHealthy?: (slot: number) => boolean;
  /** The routing store answered its last read. */
  readonly storeUp?: () => boolean;
  /** PROXY headers seen by the accept gate (EDGEPROXY_PROXY_PROTOCOL_TRUSTED set); absent: no series. */
  readonly proxyHeaders?: {
    readonly accepted: number;
    readonly local: number;
    rejected(reason: ProxyRejection): number;
  };
  /** Data-plane worker threads (EDGEPROXY_WORKERS > 1): client connections per worker; absent: no series. */
  readonly workers?: () => readonly WorkerTally[];
  /** Replication counts (edgeproxy_replication_*), registered only when this is set. */
  readonly replication?: () => ReplicationCounts | null;
}

export interface WorkerTally {
  /** 1..EDGEPROXY_WORKERS (also its engine lane). */
  readonly worker: number;
  /** Client connections accepted by this worker so far (all its restarts). */
  readonly accepted: number;
  readonly active: number;
  /** Times the worker was restarted after it died. */
  readonly restarts: number;
}

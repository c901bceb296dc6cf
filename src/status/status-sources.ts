// What the status page reads, as a narrow interface over live state the proxy already keeps (the same
// state the metrics read): the route table and the engine's counts, circuits, health verdicts, the
// client handler's counters. Built in one place by the composition (edge-proxy.ts); every optional
// source stands for a feature that may not be running.
import type { RoutedSlots } from "../routes/route-counts.ts";
import type { TrafficTotals } from "../proxy/traffic-totals.ts";

/** Circuit breaker state of a slot: 0 closed, 1 open, 2 half-open (core/circuit.ts CircuitState). */
export type CircuitStateCode = 0 | 1 | 2;

/** One POP as replication sees it (the same names as GET /api/v1/cluster). */
export interface PopStatus {
  readonly id: string;
  readonly region?: string;
  /** Free text from the replication layer: "up", "down", "stopped", … */
  readonly state: string;
  /** Seconds since this POP was last heard from (null: never). */
  readonly last_seen_secs_ago?: number | null;
  /** Its link to the replication cluster as last reported. */
  readonly link?: "up" | "down" | "stopped";
  /** Replication lag it reported, in seconds (null: unknown). */
  readonly lag_secs?: number | null;
  /** Local changes it has not published yet (null: unknown). */
  readonly outbox?: number | null;
  /** The POP serving this page. */
  readonly self?: boolean;
}

/** This POP's own replication counts (snake_case keys; the page script owns their labels). */
export interface ReplicationDetail {
  readonly outbox: number;
  readonly lag_secs: number;
  readonly published: number;
  readonly applied: number;
  readonly conflicts: number;
}

/** Replication state, shown in the page's "POPs and replication" section. */
export interface ClusterStatus {
  /** "off" when replication is not configured; otherwise the replication layer's own word. */
  readonly replication: string;
  readonly pops: readonly PopStatus[];
  /** This POP's counts, or why they cannot be read. */
  readonly detail?: ReplicationDetail | { readonly error: string };
}

export interface StatusSources {
  /** This POP: its id (EDGEPROXY_POP_ID, else the host name), region, the runtime and version serving it. */
  readonly pop: { readonly id: string; readonly region: string; readonly runtime: string; readonly version: string; readonly startedAtMs: number };
  readonly now: () => number;
  readonly table: RoutedSlots;
  readonly capacity: number;
  /** Active connections of a slot as the selection engine counts them (what the limits apply to). */
  readonly active: (slot: number) => number;
  /** Totals since start (monotonic) and connections open now: proxy/traffic-totals.ts. */
  readonly totals: () => TrafficTotals;
  readonly draining: () => boolean;
  readonly storeUp?: () => boolean;
  /** Absent: no circuit breaker state to show (every circuit closed). */
  readonly circuitState?: (slot: number) => CircuitStateCode;
  readonly circuitsEnabled?: () => boolean;
  /** Active health check verdict; absent when health checks are off, null before the first verdict. */
  readonly probeState?: (id: string) => "up" | "down" | null;
  /** Health checks follow the settings live: false shows "off" although probeState is given. */
  readonly healthChecksEnabled?: () => boolean;
  /** Connections opened to and failed connects of a backend so far (the metrics' tallies). */
  readonly backendTally?: (id: string) => { readonly connections: number; readonly errors: number } | undefined;
  /** Replication (POPs, state); absent until replication is running. */
  readonly cluster?: () => ClusterStatus;
}

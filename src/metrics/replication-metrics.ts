// edgeproxy_replication_* (issue 10), registered only when replication runs; read at scrape time.
import { Counter, Gauge, type Registry } from "prom-client";

export interface ReplicationCounts {
  readonly connected: boolean;
  /** Seconds between a change entering the bucket and this POP applying it (the latest one; while behind, the wait so far). */
  readonly lagSeconds: number;
  readonly outbox: number;
  readonly published: number;
  readonly applied: number;
  readonly conflicts: number;
}

export function registerReplicationMetrics(registry: Registry, stats: () => ReplicationCounts | null): void {
  const registers = [registry];
  const gauge = (name: string, help: string, value: (s: ReplicationCounts) => number) =>
    new Gauge({ name, help, registers, collect() { const s = stats(); if (s !== null) this.set(value(s)); } });
  const counter = (name: string, help: string, value: (s: ReplicationCounts) => number) =>
    new Counter({ name, help, registers, collect() { const s = stats(); this.reset(); if (s !== null) this.inc(value(s)); } });
  gauge("edgeproxy_replication_connected", "1 while this POP is connected to NATS with its replication bucket open.", (s) => (s.connected ? 1 : 0));
  gauge("edgeproxy_replication_lag_seconds", "Time between a change entering the bucket and this POP applying it (while behind: the wait so far).", (s) => s.lagSeconds);
  gauge("edgeproxy_replication_outbox", "Local routing changes not yet acknowledged by JetStream.", (s) => s.outbox);
  counter("edgeproxy_replication_published_total", "Local routing changes acknowledged by JetStream.", (s) => s.published);
  counter("edgeproxy_replication_applied_total", "Changes from other POPs merged into routing.db (this POP's own publishes, echoed back by the watch, not counted).", (s) => s.applied);
  counter("edgeproxy_replication_conflicts_total", "Concurrent versions of one backend resolved by last-writer-wins (HLC, origin POP).", (s) => s.conflicts);
}

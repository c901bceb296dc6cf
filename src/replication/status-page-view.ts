// Replication as the status page shows it (status/status-sources.ts ClusterStatus): one row per POP
// from this POP's cluster view (id, region, link, last seen, lag, outbox) and this POP's own counts.
import type { ClusterStatus as PageCluster } from "../status/status-sources.ts";
import type { ClusterStatus } from "../core/cluster-view.ts";
import type { ReplicationStats } from "./replicator.ts";

export function statusPageCluster(cluster: ClusterStatus, stats: ReplicationStats): PageCluster {
  return {
    replication: stats.connected ? "connected" : "link down (routing on the local routing.db)",
    pops: cluster.pops.map((p) => ({
      id: p.id,
      region: p.region ?? undefined,
      state: p.link,
      link: p.link,
      last_seen_secs_ago: p.last_seen_secs_ago,
      lag_secs: p.lag_secs,
      outbox: p.outbox,
      self: p.self,
    })),
    detail: {
      outbox: stats.outbox,
      lag_secs: Math.round(stats.lagSeconds * 1000) / 1000,
      published: stats.published,
      applied: stats.applied,
      conflicts: stats.conflicts,
    },
  };
}

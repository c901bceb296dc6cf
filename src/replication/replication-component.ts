// Replication as a component of the control plane: routing.db's replication tables are opened at
// start (a file that cannot be opened names EDGEPROXY_DB_PATH), the NATS link connects in the
// background, and every tick notices local edits (PRAGMA data_version) and runs the housekeeping.
import type { Component } from "../core/component.ts";
import { SettingError } from "../core/setting-error.ts";
import { clusterStatus, type ClusterStatus } from "../core/cluster-view.ts";
import { Replicator, REPLICATION_TICK_MS, type ReplicationStats, type ReplicatorDeps } from "./replicator.ts";

export class ReplicationComponent implements Component {
  readonly name = "replication";
  readonly #deps: ReplicatorDeps;
  #replicator: Replicator | null = null;

  constructor(deps: ReplicatorDeps) {
    this.#deps = deps;
  }

  /** Counts for the metrics; null until started. */
  stats(): ReplicationStats | null {
    return this.#replicator?.stats ?? null;
  }

  /** Cluster membership as this POP sees it (only itself, link down, until started). */
  cluster(): ClusterStatus {
    return this.#replicator?.cluster() ?? clusterStatus(this.#deps.config.popId, null, [], this.#deps.now());
  }

  start(): void {
    try {
      this.#replicator = Replicator.open(this.#deps);
    } catch (err) {
      throw new SettingError("EDGEPROXY_DB_PATH", `replication cannot open ${this.#deps.dbPath}: ${(err as Error).message}`);
    }
    this.#replicator.start();
  }

  periodMs(): number {
    return REPLICATION_TICK_MS;
  }

  tick(nowMs: number): void {
    this.#replicator?.tick(nowMs);
  }

  async stop(): Promise<void> {
    await this.#replicator?.stop();
  }
}

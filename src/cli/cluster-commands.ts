// `edgeproxy cluster status`: the POPs replicating routing.db, as the presence bucket in NATS shows
// them (configured by the same EDGEPROXY_REPLICATION_* variables as the proxy).
import type { Command } from "commander";
import type { CliContext } from "./program.ts";
import { ConfigError, loadReplicationConfig } from "../config.ts";
import { UsageError } from "./usage-error.ts";
import { clusterStatus, clusterTable } from "../core/cluster-view.ts";
import { readPresence, PresenceReadError } from "../replication/presence-read.ts";
import { StoreError } from "../store/store-errors.ts";

export function addClusterCommands(program: Command, context: CliContext): void {
  const cluster = program.command("cluster").description("POPs replicating routing.db over NATS (EDGEPROXY_REPLICATION_*)");
  cluster.command("status")
    .description("list the POPs: id, region, last seen, link up/down, replication lag, outbox depth")
    .option("--json", "print JSON instead of a table")
    .action(async (opts: { json?: boolean }) => {
      let config;
      try {
        config = loadReplicationConfig(context.io.env);
      } catch (err) {
        if (err instanceof ConfigError) throw new UsageError(err.variable, err.message);
        throw err;
      }
      if (config.servers.length === 0) throw new UsageError("EDGEPROXY_REPLICATION_NATS_URL", "EDGEPROXY_REPLICATION_NATS_URL: set it (and the credentials) to the NATS cluster the POPs replicate through");
      let seen;
      try {
        seen = await readPresence(config);
      } catch (err) {
        if (err instanceof PresenceReadError) throw new StoreError(err.message);
        throw err;
      }
      const status = clusterStatus(config.popId, null, seen, context.io.now());
      context.io.out(opts.json ? JSON.stringify(status, null, 2) : clusterTable(status));
    });
}

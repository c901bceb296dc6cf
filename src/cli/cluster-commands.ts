// `edgeproxy cluster status|forget`: the POPs replicating routing.db, as the presence bucket in NATS
// shows them (configured by the same EDGEPROXY_REPLICATION_* variables as the proxy).
import type { Command } from "commander";
import type { CliContext } from "./program.ts";
import { ConfigError, loadReplicationConfig, type ReplicationConfig } from "../config.ts";
import { UsageError } from "./usage-error.ts";
import { clusterStatus, clusterTable } from "../core/cluster-view.ts";
import { forgetPresence, readPresence, PresenceReadError } from "../replication/presence-read.ts";
import { StoreError } from "../store/store-errors.ts";

export function addClusterCommands(program: Command, context: CliContext): void {
  const cluster = program.command("cluster").description("POPs replicating routing.db over NATS (EDGEPROXY_REPLICATION_*)");
  cluster.command("status")
    .description("list the POPs: id, region, last seen, link up/down/stopped, replication lag, outbox depth")
    .option("--json", "print JSON instead of a table")
    .action(async (opts: { json?: boolean }) => {
      const config = replicationConfig(context);
      const seen = await presence(() => readPresence(config));
      const status = clusterStatus(config.popId, null, seen, context.io.now());
      context.io.out(opts.json ? JSON.stringify(status, null, 2) : clusterTable(status));
    });
  cluster.command("forget")
    .description("remove a decommissioned POP from cluster status (refused while it is up)")
    .argument("<pop-id>", "the POP's EDGEPROXY_POP_ID")
    .action(async (id: string) => {
      const config = replicationConfig(context);
      await presence(() => forgetPresence(config, id, () => context.io.now()));
      context.io.out(`forgot POP ${id}`);
    });
}

function replicationConfig(context: CliContext): ReplicationConfig {
  let config;
  try {
    config = loadReplicationConfig(context.io.env);
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.variable, err.message);
    throw err;
  }
  if (config.servers.length === 0) {
    // With replication on, the loader already demands the URL: here replication is off.
    throw new UsageError("EDGEPROXY_REPLICATION_ENABLED", "EDGEPROXY_REPLICATION_ENABLED: replication is off, so there is no cluster to show; run this with the POPs' EDGEPROXY_REPLICATION_* variables (EDGEPROXY_REPLICATION_ENABLED=true, EDGEPROXY_REPLICATION_NATS_URL and the credentials)");
  }
  return config;
}

async function presence<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    if (err instanceof PresenceReadError) throw new StoreError(err.message);
    throw err;
  }
}

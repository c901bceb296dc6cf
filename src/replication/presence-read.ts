// Reads the presence bucket once, from outside a running proxy (`edgeproxy cluster status`).
import { connect } from "@nats-io/transport-node";
import { jetstream } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import type { ReplicationConfig } from "../config.ts";
import { isAuthError } from "./nats-link.ts";
import type { PresenceValue, SeenPresence } from "../core/cluster-view.ts";

export class PresenceReadError extends Error {
  readonly variable: string;
  constructor(variable: string, message: string) {
    super(`${variable}: ${message}`);
    this.variable = variable;
    this.name = "PresenceReadError";
  }
}

export async function readPresence(config: ReplicationConfig, timeoutMs = 5000): Promise<SeenPresence[]> {
  let nc;
  try {
    nc = await connect({
      servers: [...config.servers], ignoreClusterUpdates: true, timeout: timeoutMs, reconnect: false,
      ...(config.user !== null ? { user: config.user, pass: config.password ?? "" } : {}),
    });
  } catch (err) {
    if (isAuthError(err)) throw new PresenceReadError("EDGEPROXY_REPLICATION_NATS_USER", "NATS refused the login: check EDGEPROXY_REPLICATION_NATS_USER and EDGEPROXY_REPLICATION_NATS_PASSWORD");
    throw new PresenceReadError("EDGEPROXY_REPLICATION_NATS_URL", `cannot reach NATS at ${config.servers.join(",")}: ${(err as Error).message}`);
  }
  try {
    const kv = await new Kvm(jetstream(nc, { timeout: timeoutMs })).open(`${config.bucket}_pops`);
    const out: SeenPresence[] = [];
    for await (const key of await kv.keys()) {
      const e = await kv.get(key);
      if (e === null || e.operation !== "PUT") continue;
      try {
        const value = JSON.parse(e.string()) as PresenceValue;
        if (typeof value.id === "string") out.push({ value, seenMs: e.created.getTime() });
      } catch {
        // not a presence value
      }
    }
    return out;
  } catch (err) {
    throw new PresenceReadError("EDGEPROXY_REPLICATION_BUCKET", `cannot read the presence bucket ${config.bucket}_pops: ${(err as Error).message}`);
  } finally {
    await nc.close().catch(() => {});
  }
}

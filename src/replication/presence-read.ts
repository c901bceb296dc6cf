// Reads the presence bucket once, from outside a running proxy (`edgeproxy cluster status`), and
// forgets a decommissioned POP's presence (`edgeproxy cluster forget`).
import { connect } from "@nats-io/transport-node";
import { jetstream } from "@nats-io/jetstream";
import { Kvm, type KV } from "@nats-io/kv";
import type { ReplicationConfig } from "../config.ts";
import { isAuthError } from "./nats-link.ts";
import { keyOf } from "./replicated-row.ts";
import { isFresh, type PresenceValue, type SeenPresence } from "../core/cluster-view.ts";

export class PresenceReadError extends Error {
  /** The setting to check; null when no setting is at fault (no POP has replicated yet, a refused forget). */
  readonly variable: string | null;
  constructor(variable: string | null, message: string) {
    super(variable === null ? message : `${variable}: ${message}`);
    this.variable = variable;
    this.name = "PresenceReadError";
  }
}

export function readPresence(config: ReplicationConfig, timeoutMs = 5000): Promise<SeenPresence[]> {
  return withPresenceBucket(config, timeoutMs, async (kv) => {
    const out: SeenPresence[] = [];
    for await (const key of await kv.keys()) {
      const seen = await presenceAt(kv, key);
      if (seen !== null) out.push(seen);
    }
    return out;
  });
}

/** Removes POP `id`'s presence, so cluster status no longer lists it; refused while that POP is up. */
export function forgetPresence(config: ReplicationConfig, id: string, nowMs: () => number, timeoutMs = 5000): Promise<void> {
  return withPresenceBucket(config, timeoutMs, async (kv) => {
    const seen = await presenceAt(kv, keyOf(id));
    if (seen === null || seen.value.id !== id) throw new PresenceReadError(null, `no POP "${id}" in bucket ${config.bucket}_pops (see edgeproxy cluster status)`);
    if (isFresh(seen, nowMs())) throw new PresenceReadError(null, `POP "${id}" is up (heard from ${Math.round((nowMs() - seen.seenMs) / 1000)} s ago): stop it first, or it writes its presence again`);
    await kv.purge(keyOf(id));
  });
}

async function presenceAt(kv: KV, key: string): Promise<SeenPresence | null> {
  const e = await kv.get(key);
  if (e === null || e.operation !== "PUT") return null;
  try {
    const value = JSON.parse(e.string()) as PresenceValue;
    return typeof value.id === "string" ? { value, seenMs: e.created.getTime() } : null;
  } catch {
    return null; // not a presence value
  }
}

async function withPresenceBucket<T>(config: ReplicationConfig, timeoutMs: number, use: (kv: KV) => Promise<T>): Promise<T> {
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
    return await use(await new Kvm(jetstream(nc, { timeout: timeoutMs })).open(`${config.bucket}_pops`));
  } catch (err) {
    if (err instanceof PresenceReadError) throw err;
    // The first replicating POP creates the bucket: none has started yet (or they use another bucket).
    if (isMissingBucket(err)) {
      throw new PresenceReadError(null, `no POP has replicated through bucket ${config.bucket} yet (${config.bucket}_pops does not exist on ${config.servers.join(",")}; the POPs and this command must use the same EDGEPROXY_REPLICATION_BUCKET)`);
    }
    throw new PresenceReadError("EDGEPROXY_REPLICATION_BUCKET", `cannot read the presence bucket ${config.bucket}_pops: ${(err as Error).message}`);
  } finally {
    await nc.close().catch(() => {});
  }
}

/** JetStream's "stream not found" (API error 10059): listing the keys of a bucket nobody created. */
function isMissingBucket(err: unknown): boolean {
  const e = err as { code?: unknown; name?: string; message?: string } | null;
  return e?.code === 10059 || e?.name === "StreamNotFoundError" || /stream not found/i.test(String(e?.message ?? ""));
}

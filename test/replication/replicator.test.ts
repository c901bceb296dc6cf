// The replicator in this process, ticked by the test: what reaches the route table while NATS is out
// of reach, a publish refused while another connection holds routing.db's write lock, and a watch
// that stops pulling while that lasts.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import Database from "libsql";
import { connect } from "@nats-io/transport-node";
import { jetstream } from "@nats-io/jetstream";
import { Kvm, type KV } from "@nats-io/kv";
import { INBOX_HIGH, Replicator, type ReplicatorDeps } from "../../src/replication/replicator.ts";
import { decodeEntry, encodeEntry, keyOf } from "../../src/replication/replicated-row.ts";
import { openLibsqlStore } from "../../src/store/libsql-store.ts";
import { createLogger } from "../../src/lifecycle/log.ts";
import { silentLogger, type Logger } from "../../src/core/logger.ts";
import { tempDir } from "../fixtures/routing-db.ts";
import { refusedPort } from "../fixtures/backends.ts";
import { NATS_PASSWORD, NATS_USER, natsSkipReason, startNatsCluster, type NatsCluster } from "../fixtures/nats-cluster.ts";
import { until } from "./pops.ts";

function deps(o: { dbPath: string; servers: string[]; now: () => number; onChanged?: () => void; log?: Logger; credentials?: boolean }): ReplicatorDeps {
  return {
    config: {
      enabled: true, servers: o.servers, user: o.credentials ? NATS_USER : null, password: o.credentials ? NATS_PASSWORD : null,
      popId: "pop-a", insecure: false, replicas: 1, bucket: "edge", tombstoneTtlMs: 86_400_000,
    },
    dbPath: o.dbPath, region: "sa", heartbeatTtlMs: 60_000, log: o.log ?? silentLogger, now: o.now, onChanged: o.onChanged ?? (() => {}),
  };
}

test("NATS out of reach: a second edit of one backend reaches the route table at the next tick, not at the periodic reload", async () => {
  const dir = tempDir("edgeproxy-replicator-");
  const dbPath = join(dir.dir, "routing.db");
  let now = 1_000_000;
  const refreshed: number[] = [];
  const replicator = Replicator.open(deps({ dbPath, servers: [`127.0.0.1:${await refusedPort()}`], now: () => now, onChanged: () => refreshed.push(now) }));
  const store = openLibsqlStore(dbPath, { source: "cli" });
  try {
    replicator.start();
    replicator.tick(now);
    await store.upsertBackend({ id: "k", region: "eu", host: "10.0.0.1", port: 9000 });
    now += 1000;
    replicator.tick(now);
    assert.equal(refreshed.length, 1, "the first edit refreshed the routes");
    await store.setWeight("k", 5); // k still waits to be published (no NATS)
    now += 1000;
    replicator.tick(now);
    assert.equal(refreshed.length, 2, "the second edit of k refreshed them too");
  } finally {
    await replicator.stop();
    await store.close();
    dir.remove();
  }
});

const skip = natsSkipReason() ?? false;

describe("the replicator on a private NATS server while another connection holds routing.db", { skip }, () => {
  let nats: NatsCluster;
  before(async () => {
    nats = await startNatsCluster(1);
    await nats.ready();
  });
  after(async () => {
    await nats?.close();
  });

  /** A replicator on a fresh routing.db, ticked every 10 ms against the private NATS server, with a
   *  second connection to the same file (`raw`) and the bucket (`kv`); everything closed afterwards. */
  async function withReplicator(run: (r: { replicator: Replicator; raw: InstanceType<typeof Database>; kv: KV; logs: { msg?: string; entries?: number }[] }) => Promise<void>): Promise<void> {
    const dir = tempDir("edgeproxy-replicator-");
    const dbPath = join(dir.dir, "routing.db");
    const logs: { msg?: string; entries?: number }[] = [];
    const log = createLogger("debug", (line) => logs.push(JSON.parse(line)));
    const replicator = Replicator.open(deps({ dbPath, servers: nats.nodes.map((n) => `127.0.0.1:${n.port}`), now: Date.now, log, credentials: true }));
    const timer = setInterval(() => replicator.tick(Date.now()), 10);
    const nc = await connect({ servers: nats.urls.split(","), user: NATS_USER, pass: NATS_PASSWORD });
    const raw = new Database(dbPath);
    try {
      replicator.start();
      await until("the bucket open", () => logs.some((l) => l.msg === "replication bucket open"), 30_000);
      await run({ replicator, raw, kv: await new Kvm(jetstream(nc)).open("edge"), logs });
    } finally {
      clearInterval(timer);
      try {
        raw.exec("ROLLBACK");
      } catch {
        // not in a transaction
      }
      raw.close();
      await replicator.stop();
      await nc.close();
      dir.remove();
    }
  }

  test("the version found is merged once the lock is free; not a NATS failure, and the POP's newer edit ends in the bucket", () => withReplicator(async ({ raw, kv, logs }) => {
    raw.exec("PRAGMA busy_timeout = 5000");
    raw.exec("BEGIN IMMEDIATE"); // a burst of commits elsewhere holds the write lock
    const theirs = { id: "k", app: null, region: "eu", country: null, wg_ip: "10.0.0.2", port: 80, healthy: 1, weight: 2, soft_limit: 100, hard_limit: 150, deleted: 0, created_at: 1, updated_at: 1, source: "api" };
    await kv.put(keyOf("k"), encodeEntry({ id: "k", hlc: "0000000000001000.000000", origin: "pop-b", owner: null, row: theirs }));
    // This POP's own edit of k (later than pop-b's), committed by that connection, which takes the lock
    // again at once: the publish expects no version, is refused, and finds pop-b's while routing.db is busy.
    raw.exec("INSERT INTO backends (id, app, region, wg_ip, port, healthy, weight, soft_limit, hard_limit) VALUES ('k', 'x', 'eu', '10.0.0.1', 9000, 1, 9, 10, 20); COMMIT; BEGIN IMMEDIATE");
    await until("the publish refused", () => logs.some((l) => /publish refused while routing.db is busy|publish failed/.test(String(l.msg))), 10_000);
    raw.exec("COMMIT");
    await until("pop-a's edit in the bucket", async () => {
      const e = await kv.get(keyOf("k"));
      const v = e === null ? null : decodeEntry(e.key, e.string());
      return v !== null && "origin" in v && v.origin === "pop-a" && v.row?.weight === 9;
    }, 10_000);
    assert.deepEqual(logs.filter((l) => /publish failed/.test(String(l.msg))), [], "a busy routing.db is not a NATS failure");
    assert.equal((raw.prepare("SELECT weight FROM backends WHERE id = 'k'").get([]) as { weight: number }).weight, 9);
  }));
  test("entries watched while routing.db stays busy: the watch stops pulling at INBOX_HIGH and resumes after them once applied, none applied twice", () => withReplicator(async ({ replicator, raw, kv, logs }) => {
    const count = () => (raw.prepare("SELECT COUNT(*) AS n FROM backends WHERE id LIKE 'r%'").get([]) as { n: number }).n;
    const entry = (i: number) => {
    const id = `r${i}`;
    const row = { id, app: null, region: "eu", country: null, wg_ip: "10.0.0.2", port: 80, healthy: 1, weight: 1, soft_limit: 100, hard_limit: 150, deleted: 0, created_at: 1, updated_at: 1, source: "api" };
    return [keyOf(id), encodeEntry({ id, hlc: `${String(1000 + i).padStart(16, "0")}.000000`, origin: "pop-b", owner: null, row })] as const;
    };
    raw.exec("BEGIN IMMEDIATE"); // another connection holds the write lock
    const total = INBOX_HIGH + 1000;
    for (let i = 0; i < total; i += 200) await Promise.all(Array.from({ length: Math.min(200, total - i) }, (_, j) => kv.put(...entry(i + j))));
    await until("the watch paused", () => logs.some((l) => /watch paused/.test(String(l.msg))), 20_000);
    const paused = logs.filter((l) => /watch paused/.test(String(l.msg)));
    assert.ok(paused[0]!.entries! <= INBOX_HIGH, `entries held when pausing: ${paused[0]!.entries}`);
    raw.exec("ROLLBACK");
    await until("every entry applied", () => count() === total, 20_000);
    await kv.put(...entry(total)); // the resumed watch delivers what comes next
    await until("the next entry applied", () => count() === total + 1, 10_000);
    assert.equal(replicator.stats.applied, total + 1, "no entry applied twice (nothing received was downloaded again)");
    assert.deepEqual(logs.filter((l) => /cannot apply changes yet|stalled/.test(String(l.msg))), [], "the held entries were not dropped");
  }));
  test("a new NATS connection after the last one closed (its login refused, then accepted again): publishing and watching move to it", () => withReplicator(async ({ raw, logs }) => {
    const bucket = async () => {
      const nc = await connect({ servers: nats.urls.split(","), user: NATS_USER, pass: NATS_PASSWORD });
      return { nc, kv: await new Kvm(jetstream(nc)).open("edge") };
    };
    const insert = (id: string) => raw.exec(`INSERT INTO backends (id, app, region, wg_ip, port, healthy, weight, soft_limit, hard_limit) VALUES ('${id}', 'x', 'eu', '10.0.0.1', 9000, 1, 1, 10, 20)`);
    insert("before");
    let check = await bucket();
    await until("'before' in the bucket", async () => (await check.kv.get(keyOf("before"))) !== null, 10_000);
    await check.nc.close();
    // The server comes back with another password: the client's reconnects are refused twice and it
    // closes its connection; NatsLink keeps trying with new ones until the password is right again.
    await nats.restart(0, { password: "another-password" });
    try {
      await until("the connection closed for good", () => logs.some((l) => /connection closed for good/.test(String(l.msg))), 30_000);
      assert.ok(logs.some((l) => /refused the login/.test(String(l.msg))), "the refusal is said");
    } finally {
      await nats.restart(0); // the password the other tests use, also when this one failed
    }
    await nats.ready();
    await until("the buckets opened on the new connection", () => logs.filter((l) => l.msg === "replication bucket open").length >= 2, 30_000);
    check = await bucket();
    try {
      insert("after");
      await until("'after' in the bucket", async () => (await check.kv.get(keyOf("after"))) !== null, 10_000);
      const theirs = { id: "theirs", app: null, region: "eu", country: null, wg_ip: "10.0.0.2", port: 80, healthy: 1, weight: 2, soft_limit: 100, hard_limit: 150, deleted: 0, created_at: 1, updated_at: 1, source: "api" };
      await check.kv.put(keyOf("theirs"), encodeEntry({ id: "theirs", hlc: "0000001000000000.000000", origin: "pop-b", owner: null, row: theirs }));
      await until("'theirs' in routing.db", () => raw.prepare("SELECT 1 AS found FROM backends WHERE id = 'theirs'").get([]) !== undefined, 10_000);
    } finally {
      await check.nc.close();
    }
  }));
});

// Replication over time, end to end with real processes and one private NATS server shared by every
// case (user and password, its own port and store dir), heartbeat TTL 2 s and tombstone TTL 1 s:
//   - a backend registered through the API of a POP that is then killed is soft-deleted by the lowest
//     live POP once the TTL passed, and no POP routes to it any more;
//   - the six edgeproxy_replication_* series of a running POP follow a cut of its NATS link (connected
//     1 → 0 → 1, outbox > 0 during the cut, published/applied totals move, lag present) and pass
//     `promtool check metrics`;
//   - tombstones leave the bucket after their TTL (then their markers); a POP that was away meanwhile
//     re-reads the bucket's keys and deletes what it missed.
import { test, describe, before, after } from "node:test";
import Database from "libsql";
import assert from "node:assert/strict";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstream } from "@nats-io/jetstream";
import { Kvm, type KV } from "@nats-io/kv";
import { startBackend, type TestBackend } from "../fixtures/backends.ts";
import { tempDir } from "../fixtures/routing-db.ts";
import { NATS_PASSWORD, NATS_USER, natsSkipReason, startNatsCluster, type NatsCluster } from "../fixtures/nats-cluster.ts";
import { startTcpRelay, type TcpRelay } from "../fixtures/tcp-relay.ts";
import { promtoolProblems, sample } from "../fixtures/promtool.ts";
import { keyOf } from "../../src/replication/replicated-row.ts";
import { PURGED_THROUGH_KEY } from "../../src/replication/nats-sweep-bucket.ts";
import { api, rowOf, sqlite, startAgain, startPop, until, who, type Pop } from "./pops.ts";

const skip = natsSkipReason() ?? false;
const WAIT_MS = 20_000;
const ENV = {
  EDGEPROXY_HEARTBEAT_TTL_SECS: "2",
  EDGEPROXY_REPLICATION_TOMBSTONE_TTL_SECS: "1",
  EDGEPROXY_REPLICATION_REPLICAS: "1",
  EDGEPROXY_REPLICATION_BUCKET: "lifecycle",
};
function stampOf(pop: Pop, id: string): unknown {
  const db = new Database(pop.dbPath);
  try {
    db.exec("PRAGMA busy_timeout = 5000");
    return db.prepare("SELECT * FROM replication_keys WHERE id = ?").get([id]);
  } finally {
    db.close();
  }
}

/** A row no POP routes to (healthy = 0): these tests never send traffic to made-up addresses. */
const idle = (id: string) => [`INSERT INTO backends (id, region, wg_ip, port, healthy, weight, soft_limit, hard_limit) VALUES (?, 'eu', '127.0.0.1', 9, 0, 1, 10, 20)`, id] as const;

describe("replication over time: orphans, metrics, tombstones", { skip }, () => {
  let nats: NatsCluster;
  let relay: TcpRelay;
  let dir: { dir: string; remove(): void };
  let a: Pop, b: Pop;
  let nc: NatsConnection;
  let kv: KV, pops: KV;
  let orphanBackend: TestBackend;
  let metricsUrl: string;

  before(async () => {
    dir = tempDir("edgeproxy-repl-life-");
    nats = await startNatsCluster(1);
    await nats.ready();
    relay = await startTcpRelay("127.0.0.1", nats.nodes[0]!.port);
    orphanBackend = await startBackend("orphan-srv");
    [a, b] = await Promise.all([
      startPop("pop-a", dir.dir, nats.urls, undefined, ENV),
      // pop-b: its link goes through a relay the metrics case cuts; metrics on an ephemeral port
      startPop("pop-b", dir.dir, `nats://127.0.0.1:${relay.port}`, undefined, { ...ENV, EDGEPROXY_METRICS_ENABLED: "true", EDGEPROXY_METRICS_LISTEN_ADDR: "127.0.0.1:0" }),
    ]);
    await Promise.all([a, b].map((p) => p.proxy.waitForLog("replication bucket open", 30_000)));
    metricsUrl = `http://${(await b.proxy.waitForLog("edgeProxy metrics listening")).addr}/metrics`;
    nc = await connect({ servers: nats.urls.split(","), user: NATS_USER, pass: NATS_PASSWORD });
    const kvm = new Kvm(jetstream(nc));
    kv = await kvm.open(ENV.EDGEPROXY_REPLICATION_BUCKET);
    pops = await kvm.open(`${ENV.EDGEPROXY_REPLICATION_BUCKET}_pops`);
  });

  after(async () => {
    await nc?.close();
    await Promise.all([a, b].map((p) => p?.proxy.stop()));
    await relay?.close();
    await nats?.close();
    await orphanBackend?.close();
    dir?.remove();
  });

  test("a backend registered at a POP that is killed is soft-deleted after the heartbeat TTL; no POP routes to it", async () => {
    const z = await startPop("pop-z", dir.dir, nats.urls, undefined, ENV);
    try {
      await z.proxy.waitForLog("replication bucket open", 30_000);
      const r = await api(z, "POST", "/api/v1/register", { id: "orphan", app: "game", region: "sa", ip: "127.0.0.1", port: orphanBackend.port });
      assert.ok(r.status === 200 || r.status === 201, JSON.stringify(r.json));
      await until("the registration routed at pop-a and pop-b", async () => (await who(a)) === "orphan-srv" && (await who(b)) === "orphan-srv", WAIT_MS, 20);
      await z.proxy.stop("SIGKILL"); // within the TTL: its own reaper never ran on it
      const killedAt = Date.now();
      await until("soft-deleted at pop-a and pop-b", () => [a, b].every((p) => rowOf(p, "orphan")?.deleted === 1), WAIT_MS, 50);
      assert.ok(Date.now() - killedAt >= 1500, "not before pop-z had been silent for about the TTL");
      const line = await a.proxy.waitForLog("backend deregistered: its registering POP is gone", 1000);
      assert.equal(line.id, "orphan");
      assert.equal(b.proxy.logs.some((l) => l.msg === "backend deregistered: its registering POP is gone"), false, "only the lowest live POP expires it");
      await until("no POP routes to it", async () => (await who(a)) !== "orphan-srv" && (await who(b)) !== "orphan-srv", WAIT_MS, 50);
    } finally {
      await z.proxy.stop("SIGKILL");
    }
  });

  test("edgeproxy_replication_* follow a cut of the NATS link and pass promtool", async () => {
    const scrape = async () => (await fetch(metricsUrl)).text();
    const value = async (series: string) => sample(await scrape(), series);
    await until("connected", async () => (await value("edgeproxy_replication_connected")) === 1, WAIT_MS, 50);
    const before = await scrape();
    const published0 = sample(before, "edgeproxy_replication_published_total")!;
    const applied0 = sample(before, "edgeproxy_replication_applied_total")!;
    relay.cut();
    await until("disconnected", async () => (await value("edgeproxy_replication_connected")) === 0, WAIT_MS, 50);
    sqlite(b, ...idle("metrics-b"));
    sqlite(a, ...idle("metrics-a"));
    await until("the write waits in the outbox", async () => ((await value("edgeproxy_replication_outbox")) ?? 0) >= 1, WAIT_MS, 50);
    const cut = await scrape();
    assert.equal(promtoolProblems(cut), "", cut);
    relay.heal();
    await until("connected again, outbox published", async () => {
      const text = await scrape();
      return sample(text, "edgeproxy_replication_connected") === 1 && sample(text, "edgeproxy_replication_outbox") === 0
        && sample(text, "edgeproxy_replication_published_total")! > published0 && sample(text, "edgeproxy_replication_applied_total")! > applied0;
    }, WAIT_MS, 50);
    await until("pop-a's write applied at pop-b", () => rowOf(b, "metrics-a") !== undefined, WAIT_MS, 50);
    const after = await scrape();
    for (const name of ["connected", "lag_seconds", "outbox", "published_total", "applied_total", "conflicts_total"]) {
      const series = `edgeproxy_replication_${name}`;
      assert.match(after, new RegExp(`^# TYPE ${series} (gauge|counter)$`, "m"), series);
      const v = sample(after, series);
      assert.ok(v !== undefined && Number.isFinite(v) && v >= 0, `${series} = ${v}`);
    }
    assert.equal(promtoolProblems(after), "", after);
  });

  test("tombstones leave the bucket after their TTL; a POP away meanwhile deletes what it missed", async () => {
    const gone = async (id: string) => (await kv.get(keyOf(id))) === null;
    // Everyone online: tombstone → purge marker → nothing; every POP forgets the key.
    sqlite(a, ...idle("tomb-online"));
    await until("at pop-b", () => rowOf(b, "tomb-online") !== undefined, WAIT_MS, 50);
    sqlite(a, "DELETE FROM backends WHERE id = 'tomb-online'");
    await until("tombstone at pop-b", () => rowOf(b, "tomb-online") === undefined, WAIT_MS, 50);
    const tombstone = await kv.get(keyOf("tomb-online"));
    // (on a loaded machine the 1 s TTL may already have passed: then it is a marker or nothing)
    if (tombstone?.operation === "PUT") assert.equal(JSON.parse(tombstone.string()).row, null, "a delete is first a tombstone");
    await until("tombstone and marker gone from the bucket", () => gone("tomb-online"), WAIT_MS, 100);
    await a.proxy.waitForLog("replication: old tombstones purged", 1000);
    for (const p of [a, b]) await until(`${p.id} forgot the key's stamp`, () => stampOf(p, "tomb-online") === undefined, WAIT_MS, 50);
    // pop-b away while a backend is deleted and its tombstone purged: on return it re-reads the keys.
    sqlite(a, ...idle("tomb-away"));
    sqlite(a, ...idle("stays"));
    await until("at pop-b", () => rowOf(b, "tomb-away") !== undefined && rowOf(b, "stays") !== undefined, WAIT_MS, 50);
    await b.proxy.stop();
    sqlite(a, "DELETE FROM backends WHERE id = 'tomb-away'");
    await until("tomb-away purged from the bucket", () => gone("tomb-away"), WAIT_MS, 100);
    const watermark = await pops.get(PURGED_THROUGH_KEY);
    assert.ok(JSON.parse(watermark!.string()).revision > 0);
    await startAgain(b);
    const line = await b.proxy.waitForLog("tombstones were purged while this POP was away", WAIT_MS);
    assert.equal(line.removed, 1);
    await until("tomb-away gone at pop-b", () => rowOf(b, "tomb-away") === undefined, WAIT_MS, 50);
    assert.ok(rowOf(b, "stays") !== undefined, "keys still in the bucket stay");
  });
});

// routing.db replicated across three POP processes through a private 3-node NATS JetStream cluster
// (R3, user and password required), with real sockets end to end. Under Node the three POPs run on
// Node, Bun and Deno (one mixed cluster); under Bun and Deno all three run on that runtime.
//   - a change made at each POP by CLI, API and sqlite3 is routed to by the other two within 1 s
//     (the periodic reload is an hour: only replication delivers it);
//   - one NATS node killed mid-writes: no write lost;
//   - a POP partitioned from NATS (its link through a relay that is cut) routes and accepts writes;
//     after healing every routing.db holds the same rows, a backend edited on both sides included;
//   - kill -9 of a POP with changes in its outbox, restart: nothing lost;
//   - a POP down while others write catches up on restart;
//   - wrong credentials: the POP says which variables, keeps routing, nothing crosses.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { startBackend, type TestBackend } from "../fixtures/backends.ts";
import { tempDir } from "../fixtures/routing-db.ts";
import { runtime } from "../fixtures/runtime.ts";
import { natsSkipReason, startNatsCluster, type NatsCluster } from "../fixtures/nats-cluster.ts";
import { startTcpRelay, type TcpRelay } from "../fixtures/tcp-relay.ts";
import { runCli } from "../cli/run-cli.ts";
import { api, canonicalDump, popEnv, rowOf, sqlite, startAgain, startPop, until, who, type Pop } from "./pops.ts";

const skip = natsSkipReason() ?? false;
const ROUTE_MS = 1000;
const CONVERGE_MS = 20_000;
/** Runtimes of POPs a, b, c: mixed under Node (the mixed-runtime cluster runs once), else all the same. */
const RUNTIMES: (typeof runtime)[] = runtime === "node" ? ["node", "bun", "deno"] : [runtime, runtime, runtime];

describe("routing.db replicated over NATS JetStream", { skip }, () => {
  let nats: NatsCluster;
  let relay: TcpRelay;
  let dir: { dir: string; remove(): void };
  const pops: Pop[] = [];
  const backends: TestBackend[] = [];

  before(async () => {
    dir = tempDir("edgeproxy-repl-");
    nats = await startNatsCluster(3);
    await nats.ready();
    // POP c reaches NATS only through a relay the partition test cuts (node 3 behind it).
    relay = await startTcpRelay("127.0.0.1", nats.nodes[2]!.port);
    for (let i = 0; i < 6; i++) backends.push(await startBackend(`srv${i}`));
    const started = await Promise.all([
      startPop("pop-a", dir.dir, nats.urls, RUNTIMES[0]),
      startPop("pop-b", dir.dir, nats.urls, RUNTIMES[1]),
      startPop("pop-c", dir.dir, `nats://127.0.0.1:${relay.port}`, RUNTIMES[2]),
    ]);
    pops.push(...started);
    await Promise.all(pops.map((p) => p.proxy.waitForLog("replication bucket open", 30_000)));
  });

  after(async () => {
    await Promise.all(pops.map((p) => p.proxy.stop()));
    await relay?.close();
    await nats?.close();
    await Promise.all(backends.map((b) => b.close()));
    dir?.remove();
  });

  const [a, b, c] = [0, 1, 2].map((i) => () => pops[i]!);
  const others = (pop: Pop) => pops.filter((p) => p !== pop);
  const converged = () => { const dumps = pops.map(canonicalDump); return dumps.every((d) => d === dumps[0]); };

  test("a change at each POP by CLI, API and sqlite3 is routed to by the other two within one second", async () => {
    let step = 0;
    const changes: [string, (pop: Pop, port: number) => Promise<void>][] = [
      ["cli", async (pop, port) => {
        const r = await runCli(["node", "add", "web", "sa", "127.0.0.1", String(port)], { EDGEPROXY_DB_PATH: pop.dbPath });
        assert.equal(r.code, 0, r.stderr);
      }],
      ["api", async (pop, port) => {
        const r = await api(pop, "POST", "/api/v1/register", { id: "web", app: "web", region: "sa", ip: "127.0.0.1", port });
        assert.ok(r.status === 200 || r.status === 201, JSON.stringify(r.json));
      }],
      ["sqlite3", async (pop, port) => sqlite(pop, "UPDATE backends SET wg_ip = '127.0.0.1', port = ?, deleted = 0, healthy = 1 WHERE id = 'web'", port)],
    ];
    const times: string[] = [];
    for (const pop of pops) {
      for (const [how, change] of changes) {
        const target = backends[step % backends.length]!;
        step++;
        await change(pop, target.port);
        const started = Date.now();
        await Promise.all(others(pop).map((p) => until(`${how} change at ${pop.id} routed at ${p.id}`, async () => (await who(p)) === target.id, 10_000)));
        const ms = Date.now() - started;
        times.push(`${how}@${pop.id}: ${ms} ms`);
        assert.ok(ms <= ROUTE_MS, `${how} change at ${pop.id} took ${ms} ms to be routed everywhere (${times.join(", ")})`);
      }
    }
  });

  test("one NATS node killed during writes: no write is lost (R3)", async () => {
    const ids = Array.from({ length: 40 }, (_, i) => `kill-${i}`);
    for (const [i, id] of ids.entries()) {
      if (i === 10) await nats.kill(0);
      const pop = pops[i % 3]!;
      sqlite(pop, "INSERT INTO backends (id, region, wg_ip, port, healthy, weight, soft_limit, hard_limit) VALUES (?, 'us', '10.1.0.1', 80, 1, 1, 10, 20)", id);
      await new Promise((r) => setTimeout(r, 25));
    }
    try {
      await until("every write on every POP", () => pops.every((p) => ids.every((id) => rowOf(p, id) !== undefined)), 30_000, 100);
      await until("identical rows", converged, CONVERGE_MS, 100);
    } finally {
      await nats.restart(0);
    }
  });

  test("a partitioned POP keeps routing and taking writes; after healing every routing.db holds the same rows", async () => {
    await until("pop-c caught up before the cut", converged, CONVERGE_MS, 100);
    sqlite(a(), "INSERT INTO backends (id, region, wg_ip, port, healthy, weight, soft_limit, hard_limit) VALUES ('both', 'eu', '10.2.0.1', 80, 1, 1, 10, 20)");
    await until("'both' at pop-c", () => rowOf(c(), "both") !== undefined, CONVERGE_MS, 50);
    relay.cut();
    await c().proxy.waitForLog("replication link lost", 15_000);
    // Routing goes on at the cut-off POP, and it accepts a CLI write.
    assert.ok(["srv0", "srv1", "srv2", "srv3", "srv4", "srv5"].includes(await who(c())));
    sqlite(a(), "UPDATE backends SET weight = 2 WHERE id = 'both'"); // first
    sqlite(a(), "INSERT INTO backends (id, region, wg_ip, port, healthy, weight, soft_limit, hard_limit) VALUES ('a-during', 'eu', '10.2.0.2', 80, 1, 1, 10, 20)");
    await new Promise((r) => setTimeout(r, 20));
    const r = await runCli(["node", "weight", "both", "3"], { EDGEPROXY_DB_PATH: c().dbPath }); // later: wins
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await runCli(["node", "add", "c-during", "ap", "10.2.0.3", "81"], { EDGEPROXY_DB_PATH: c().dbPath })).code, 0);
    await until("pop-b has a's write", () => rowOf(b(), "a-during") !== undefined, CONVERGE_MS, 50);
    assert.equal(rowOf(b(), "c-during"), undefined);
    relay.heal();
    await c().proxy.waitForLog("replication link up", 20_000);
    await until("identical rows after healing", converged, CONVERGE_MS, 100);
    for (const p of pops) assert.equal(rowOf(p, "both")?.weight, 3, `${p.id}: the later edit wins`);
    for (const p of pops) assert.ok(rowOf(p, "c-during") !== undefined);
    const lost = c().proxy.logs.filter((l) => l.msg?.startsWith("replication link lost")).length;
    assert.equal(lost, 1, "the loss is logged once");
  });

  test("kill -9 of a POP with changes in its outbox, then restart: nothing lost", async () => {
    relay.cut();
    await c().proxy.waitForLog("replication link lost", 15_000).catch(() => undefined);
    for (let i = 0; i < 5; i++) sqlite(c(), "INSERT INTO backends (id, region, wg_ip, port, healthy, weight, soft_limit, hard_limit) VALUES (?, 'sa', '10.3.0.1', 80, 1, 1, 10, 20)", `outbox-${i}`);
    await until("outbox filled", () => rowOf(c(), "outbox-4") !== undefined, 5000);
    await c().proxy.stop("SIGKILL");
    relay.heal();
    await startAgain(c());
    await until("outbox rows everywhere", () => pops.every((p) => rowOf(p, "outbox-4") !== undefined && rowOf(p, "outbox-0") !== undefined), CONVERGE_MS, 100);
    await until("identical rows", converged, CONVERGE_MS, 100);
  });

  test("a POP that was down while others wrote catches up on restart", async () => {
    await b().proxy.stop();
    sqlite(a(), "INSERT INTO backends (id, region, wg_ip, port, healthy, weight, soft_limit, hard_limit) VALUES ('while-down', 'us', '10.4.0.1', 80, 1, 1, 10, 20)");
    sqlite(c(), "DELETE FROM backends WHERE id = 'kill-3'");
    await until("pop-a saw the delete", () => rowOf(a(), "kill-3") === undefined, CONVERGE_MS, 50);
    await startAgain(b());
    await until("pop-b caught up", () => rowOf(b(), "while-down") !== undefined && rowOf(b(), "kill-3") === undefined, CONVERGE_MS, 50);
    await until("identical rows", converged, CONVERGE_MS, 100);
  });

  test("cluster status: every POP listed with its link, lag and outbox (API and CLI)", async () => {
    await until("three POPs up in GET /api/v1/cluster", async () => {
      const r = await api(a(), "GET", "/api/v1/cluster");
      return r.status === 200 && r.json.pops.length === 3 && r.json.pops.every((p: { link: string }) => p.link === "up");
    }, 15_000, 200);
    const r = await api(a(), "GET", "/api/v1/cluster");
    assert.deepEqual(r.json.pops.map((p: { id: string }) => p.id), ["pop-a", "pop-b", "pop-c"]);
    for (const p of r.json.pops) {
      assert.equal(p.region, "sa");
      assert.equal(typeof p.outbox, "number");
      assert.equal(typeof p.last_seen_ms, "number");
    }
    const cli = await runCli(["cluster", "status"], popEnv(a()));
    assert.equal(cli.code, 0, cli.stderr);
    for (const id of ["pop-a", "pop-b", "pop-c"]) assert.match(cli.stdout, new RegExp(`${id}.*\\bup\\b`));
    assert.ok(!cli.stdout.includes("s3cret") && !cli.stderr.includes("s3cret"));
  });

  test("wrong credentials: refused, the POP says which variables and keeps routing; nothing crosses", async () => {
    const bad = await startPop("pop-bad", dir.dir, nats.urls, runtime, { EDGEPROXY_REPLICATION_NATS_PASSWORD: "wrong-password" });
    try {
      const line = await bad.proxy.waitForLog("NATS refused the login", 15_000);
      assert.match(String(line.msg), /EDGEPROXY_REPLICATION_NATS_USER/);
      assert.match(String(line.msg), /EDGEPROXY_REPLICATION_NATS_PASSWORD/);
      sqlite(bad, "INSERT INTO backends (id, region, wg_ip, port, healthy, weight, soft_limit, hard_limit) VALUES ('from-bad', 'sa', '127.0.0.1', ?, 1, 1, 10, 20)", backends[5]!.port);
      await until("the refused POP routes locally", async () => (await who(bad)) === "srv5", 10_000)
        .catch((err) => { throw new Error(`${err.message}; its logs:\n${bad.proxy.logs.map((l) => JSON.stringify(l)).join("\n")}`); });
      sqlite(a(), "INSERT INTO backends (id, region, wg_ip, port, healthy, weight, soft_limit, hard_limit) VALUES ('after-bad', 'us', '10.5.0.1', 80, 1, 1, 10, 20)");
      await until("a marker write reached pop-b", () => rowOf(b(), "after-bad") !== undefined, CONVERGE_MS, 50);
      assert.equal(rowOf(a(), "from-bad"), undefined);
      assert.equal(rowOf(bad, "after-bad"), undefined);
      const text = bad.proxy.logs.map((l) => JSON.stringify(l)).join("\n");
      assert.ok(!text.includes("wrong-password") && !text.includes("s3cret"), "no password in the logs");
    } finally {
      await bad.proxy.stop();
    }
  });
});

// npm run bench:replication — routing.db replication over NATS JetStream with 3 POPs on this machine.
//
//   pop-a ─┐                       ┌─ pop-b    private 3-node nats-server cluster (R3, user+password),
//          ├── NATS (n1, n2, n3) ──┤           each POP its own routing.db; pop-c reaches NATS through
//   pop-c ─┘ (through a relay)     └─ …        a relay the benchmark cuts for the partition run
//
// 1. Lag: CHANGES commits at pop-a, one transaction each, as fast as sqlite takes them (in a worker
//    thread, bench/lib/burst-writer.mjs: its loop would otherwise hold this thread, the observers
//    below and pop-c's relay, for the whole burst); each row carries its commit time. The benchmark watches the other POPs' routing.db (PRAGMA data_version every
//    millisecond) and records when each row appears: lag = seen - committed (the time the writer's commit
//    returned, posted by the writer; also printed: from the time it called the INSERT). p50, p99, max.
// 2. Catch-up: pop-c cut off; ROWS rows change at pop-a in one transaction; once pop-b holds them all,
//    the link is healed; time until pop-c holds every one of them.
// Targets (issue 10): lag p99 < 100 ms on loopback; 10,000-row catch-up < 5 s.
// Env: CHANGES (default 1000), ROWS (default 10000), RUNTIME (bun|node|deno, default bun: a Node POP
// starts through tsx, which took over a minute on a loaded machine), START_TIMEOUT_SECS (default 180).
// A smoke run: CHANGES=50 ROWS=500 npm run bench:replication
import Database from "libsql";
import { Worker } from "node:worker_threads";
import { startNatsCluster } from "../test/fixtures/nats-cluster.ts";
import { startTcpRelay } from "../test/fixtures/tcp-relay.ts";
import { tempDir } from "../test/fixtures/routing-db.ts";
import { startPop, type Pop } from "../test/replication/pops.ts";

const CHANGES = Number(process.env.CHANGES ?? 1000);
const ROWS = Number(process.env.ROWS ?? 10_000);
const RUNTIME = (process.env.RUNTIME ?? "bun") as "node" | "bun" | "deno";
if (!["node", "bun", "deno"].includes(RUNTIME)) throw new Error(`RUNTIME: expected node, bun or deno, got "${RUNTIME}"`);
const START_MS = Number(process.env.START_TIMEOUT_SECS ?? 180) * 1000;
const LAG_TARGET_MS = 100;
const CATCH_UP_TARGET_MS = 5000;
setTimeout(() => { console.error("bench:replication: over 15 minutes, stopping"); process.exit(1); }, 900_000).unref();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const open = (path: string) => { const db = new Database(path); db.exec("PRAGMA busy_timeout = 5000"); return db; };
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

const dir = tempDir("edgeproxy-bench-repl-");
const nats = await startNatsCluster(3);
await nats.ready();
const relay = await startTcpRelay("127.0.0.1", nats.nodes[2]!.port);
// One after the other: three starts at once on a loaded machine are slower than in a row.
const pops: Pop[] = [];
for (const [id, url] of [["pop-a", nats.urls], ["pop-b", nats.urls], ["pop-c", `nats://127.0.0.1:${relay.port}`]] as const) {
  const started = Date.now();
  pops.push(await startPop(id, dir.dir, url, RUNTIME, {}, START_MS));
  console.log(`${id} (${RUNTIME}) started in ${Date.now() - started} ms`);
}
await Promise.all(pops.map((p) => p.proxy.waitForLog("replication bucket open", START_MS)));
const [a, b, c] = pops as [Pop, Pop, Pop];

/** Runs the writer (bench/lib/burst-writer.mjs) in a worker thread: `count` commits at pop-a. */
function runBurst(count: number): Promise<{ startMs: number; burstMs: number; committed: number[] }> {
  const burst = new Worker(new URL("./lib/burst-writer.mjs", import.meta.url), { workerData: { path: a.dbPath, count } });
  return new Promise((resolve, reject) => {
    burst.on("message", (m: { ready?: boolean; startMs?: number; burstMs?: number; committed?: number[] }) => {
      if (m.ready) burst.postMessage("go");
      else resolve(m as { startMs: number; burstMs: number; committed: number[] });
    });
    burst.on("error", reject);
  });
}

try {
  // ---- 1. lag over a burst
  const watchers = [b, c].map((pop) => {
    const db = open(pop.dbPath);
    /** id → [time seen here, time the writer called its INSERT] */
    const seenAt = new Map<string, [number, number]>();
    let version = -1;
    // Only rows inserted since the last look (rowid above the highest seen): a full scan of the table
    // at every commit made the observers (which share this thread with pop-c's relay) cost O(n²).
    let lastRowid = 0;
    const fresh = db.prepare("SELECT rowid AS r, id, app FROM backends WHERE rowid > ? AND id LIKE 'lag-%' ORDER BY rowid");
    const timer = setInterval(() => {
      const v = Number((db.prepare("PRAGMA data_version").get([]) as { data_version: number }).data_version);
      if (v === version) return;
      version = v;
      const now = Date.now();
      for (const row of fresh.all([lastRowid]) as { r: number; id: string; app: string }[]) {
        lastRowid = Math.max(lastRowid, Number(row.r));
        if (!seenAt.has(row.id)) seenAt.set(row.id, [now, Number(row.app)]);
      }
    }, 1);
    /** Lag of each row: seen here minus its commit (the writer's clock after the commit returned). */
    const seen = new Map<string, number>();
    return { pop, seen, seenAt, stop: () => { clearInterval(timer); db.close(); } };
  });
  const { burstMs, committed } = await runBurst(CHANGES);
  const deadline = Date.now() + 120_000;
  while (watchers.some((w) => w.seenAt.size < CHANGES) && Date.now() < deadline) await sleep(20);
  for (const w of watchers) w.stop();
  // From the commit: the time the writer's commit returned (the row is in routing.db by then). The
  // second figure counts from the writer's call instead, so it also holds the writer's own wait for the
  // write lock before its commit (the POP takes the lock to record what it published).
  let fromCall: number[] = [];
  for (const w of watchers) {
    for (const [id, [at, called]] of w.seenAt) {
      w.seen.set(id, at - committed[Number(id.slice("lag-".length))]!);
      fromCall.push(at - called);
    }
  }
  fromCall = fromCall.sort((x, y) => x - y);
  const lags = watchers.flatMap((w) => [...w.seen.values()]).sort((x, y) => x - y);
  if (process.env.DIAG) {
    for (const w of watchers) { const g: string[] = []; for (let i = 0; i < CHANGES; i += 25) { let mx = 0; for (let j = i; j < i + 25; j++) mx = Math.max(mx, w.seen.get(`lag-${j}`) ?? -1); g.push(String(mx)); } console.log(w.pop.id, g.join(" ")); }
    for (const p of pops) for (const l of p.proxy.logs) if (String(l.msg).startsWith("DIAG")) console.log(p.id, JSON.stringify(l));
  }
  const missing = watchers.map((w) => CHANGES - w.seenAt.size).reduce((x, y) => x + y, 0);
  const p99 = pct(lags, 99);
  console.log(`lag over a burst of ${CHANGES} changes at pop-a (committed in ${burstMs} ms), applied at pop-b and pop-c (${RUNTIME}):`);
  console.log(`  p50 ${pct(lags, 50)} ms   p99 ${p99} ms   max ${lags[lags.length - 1]} ms${missing ? `   MISSING ${missing}` : ""}   (target p99 < ${LAG_TARGET_MS} ms: ${p99 < LAG_TARGET_MS && !missing ? "met" : "MISSED"})`);
  console.log(`  from the writer's call instead of its commit (adds the writer's wait for the lock): p50 ${pct(fromCall, 50)} ms   p99 ${pct(fromCall, 99)} ms   max ${fromCall[fromCall.length - 1]} ms`);

  // ---- 2. catch-up after a partition
  const writer = open(a.dbPath);
  relay.cut();
  await c.proxy.waitForLog("replication link lost", 60_000);
  writer.exec("BEGIN");
  const bulk = writer.prepare("INSERT INTO backends (id, app, region, wg_ip, port, healthy, weight, soft_limit, hard_limit) VALUES (?, 'bulk', 'eu', '10.9.1.1', 80, 1, 1, 10, 20)");
  for (let i = 0; i < ROWS; i++) bulk.run([`bulk-${i}`]);
  writer.exec("COMMIT");
  writer.close();
  const count = (pop: Pop) => { const db = open(pop.dbPath); try { return Number((db.prepare("SELECT COUNT(*) AS n FROM backends WHERE app = 'bulk'").get([]) as { n: number }).n); } finally { db.close(); } };
  const published = Date.now();
  while (count(b) < ROWS) { if (Date.now() - published > 300_000) throw new Error("pop-b never received the bulk change"); await sleep(50); }
  console.log(`${ROWS} rows changed at pop-a during the partition reached pop-b in ${Date.now() - published} ms`);
  const healed = Date.now();
  relay.heal();
  while (count(c) < ROWS) { if (Date.now() - healed > 300_000) throw new Error("pop-c never caught up"); await sleep(10); }
  const catchUp = Date.now() - healed;
  console.log(`pop-c converged ${catchUp} ms after the link was healed (target < ${CATCH_UP_TARGET_MS} ms: ${catchUp < CATCH_UP_TARGET_MS ? "met" : "MISSED"}; includes reconnecting, up to ~0.5 s)`);
} catch (err) {
  for (const p of pops) console.error(`--- ${p.id} log (last 15 lines)\n` + p.proxy.logs.slice(-15).map((l) => JSON.stringify(l)).join("\n"));
  throw err;
} finally {
  await Promise.all(pops.map((p) => p.proxy.stop()));
  await relay.close();
  await nats.close();
  dir.remove();
}

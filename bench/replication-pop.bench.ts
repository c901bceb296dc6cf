// npm run bench:replication-pop — the CPU one POP spends per replicated change, measured alone: one POP
// and a private 1-node nats-server (R1), nothing else competing for the cores (bench:replication runs
// three POPs, three NATS servers and the writer on the same two cores, where every part waits for the
// others). For finding where a change's cost goes (profile the POP with NODE_OPTIONS=--cpu-prof).
//
//   ROLE=receiver   a publisher in this process puts BACKENDS entries, then ROUNDS bursts of CHANGES
//                   entries at RATE a second into the bucket, as another POP would; the POP applies them
//   ROLE=writer     this process commits BACKENDS rows, then ROUNDS bursts of CHANGES rows at RATE a
//                   second to the POP's routing.db (separate commits); the POP publishes them
// Prints the POP's CPU per change for each burst (Linux /proc); the first burst meets a POP just
// started (its JIT compiling). Env: ROLE (receiver), RUNTIME (node|bun|deno, default node), CHANGES
// (1000), RATE (1000), ROUNDS (4), BACKENDS (2000: the route table's size).
import Database from "libsql";
import { connect } from "@nats-io/transport-node";
import { Kvm } from "@nats-io/kv";
import { NATS_PASSWORD, NATS_USER, startNatsCluster } from "../test/fixtures/nats-cluster.ts";
import { tempDir } from "../test/fixtures/routing-db.ts";
import { startPop } from "../test/replication/pops.ts";
import { cpuSeconds, sleep } from "./lib/processes.mjs";
import { encodeEntry, keyOf } from "../src/replication/replicated-row.ts";

const ROLE = process.env.ROLE ?? "receiver";
if (ROLE !== "receiver" && ROLE !== "writer") throw new Error(`ROLE: expected receiver or writer, got "${ROLE}"`);
const RUNTIME = (process.env.RUNTIME ?? "node") as "node" | "bun" | "deno";
if (!["node", "bun", "deno"].includes(RUNTIME)) throw new Error(`RUNTIME: expected node, bun or deno, got "${RUNTIME}"`);
const CHANGES = Number(process.env.CHANGES ?? 1000);
const RATE = Number(process.env.RATE ?? 1000);
const ROUNDS = Number(process.env.ROUNDS ?? 4);
const BACKENDS = Number(process.env.BACKENDS ?? 2000);
setTimeout(() => { console.error("bench:replication-pop: over 10 minutes, stopping"); process.exit(1); }, 600_000).unref();

const dir = tempDir("edgeproxy-bench-pop-");
const nats = await startNatsCluster(1);
await nats.ready();
const pop = await startPop(ROLE === "receiver" ? "pop-b" : "pop-a", dir.dir, nats.urls, RUNTIME, { EDGEPROXY_REPLICATION_REPLICAS: "1" }, 180_000);
await pop.proxy.waitForLog("replication bucket open", 60_000);
const db = new Database(pop.dbPath);
db.exec("PRAGMA busy_timeout = 5000");
const nc = await connect({ servers: nats.urls, user: NATS_USER, pass: NATS_PASSWORD });
const kv = await new Kvm(nc).open("edgeproxy_routes");

const countLike = db.prepare("SELECT COUNT(*) AS n FROM backends WHERE id LIKE ?");
const outboxDepth = db.prepare("SELECT COUNT(*) AS n FROM replication_outbox");
const insert = db.prepare("INSERT INTO backends (id, app, region, wg_ip, port, healthy, weight, soft_limit, hard_limit) VALUES (?, 'x', 'sa', '10.9.0.1', 80, 1, 1, 10, 20)");
const count = (stmt: { get(p: unknown[]): unknown }, ...params: unknown[]) => Number((stmt.get(params) as { n: number }).n);

/** `n` changes at `rate` a second, done when the POP applied (receiver) or published (writer) them all. */
async function burst(prefix: string, n: number, rate: number): Promise<void> {
  const start = Date.now();
  const puts: Promise<unknown>[] = [];
  for (let i = 0; i < n; i++) {
    const id = `${prefix}${i}`;
    if (ROLE === "writer") {
      insert.run([id]);
    } else {
      const now = Date.now();
      const row = { id, app: "x", region: "sa", country: null, wg_ip: "10.9.0.1", port: 80, healthy: 1, weight: 1, soft_limit: 10, hard_limit: 20, deleted: 0, created_at: now, updated_at: now, source: "cli" };
      puts.push(kv.put(keyOf(id), encodeEntry({ id, hlc: `${String(now).padStart(16, "0")}.${String(i % 1e6).padStart(6, "0")}`, origin: "pop-x", owner: null, row })));
    }
    const due = start + ((i + 1) * 1000) / rate;
    if (due > Date.now() + 1) await sleep(due - Date.now());
  }
  await Promise.all(puts);
  const deadline = Date.now() + 120_000;
  while (ROLE === "writer" ? count(outboxDepth) > 0 : count(countLike, `${prefix}%`) < n) {
    if (Date.now() > deadline) throw new Error(`the POP did not take burst ${prefix} within 2 minutes`);
    await sleep(5);
  }
}

try {
  await burst("base-", BACKENDS, 5000);
  await sleep(1000);
  console.log(`one POP (${RUNTIME}) as the ${ROLE} of ${CHANGES} changes at ${RATE} a second, ${BACKENDS} backends, 1-node NATS:`);
  for (let round = 0; round < ROUNDS; round++) {
    const cpuBefore = cpuSeconds(pop.proxy.child.pid!), started = Date.now();
    await burst(`r${round}-`, CHANGES, RATE);
    const cpu = cpuSeconds(pop.proxy.child.pid!) - cpuBefore;
    console.log(`  burst ${round + 1}${round === 0 ? " (POP just started)" : ""}: done in ${Date.now() - started} ms; POP CPU ${((cpu * 1e6) / CHANGES).toFixed(0)} µs a change`);
    await sleep(500);
  }
} finally {
  await nc.close();
  db.close();
  await pop.proxy.stop();
  await nats.close();
  dir.remove();
}

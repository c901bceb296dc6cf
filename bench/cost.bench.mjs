#!/usr/bin/env node
// npm run bench:cost: what a connection costs the proxy, per runtime (issue 11, "Per-connection cost").
//  1. Proxy CPU per new connection from one client IP vs from 10,000 distinct client IPs (client
//     sockets bound to 127.x.y.1, so the proxy sees each as its own client), through a City-shaped
//     GeoIP database with a record per client /24 (names in eight languages, as GeoLite2-City has):
//     distinct addresses miss the location cache, so this is the uncached GeoIP lookup plus a new
//     affinity entry per client. Target: distinct / one-IP <= 1.2.
//  2. Proxy RSS per idle proxied connection: 5,000 connections that exchanged one byte each way and
//     then sit idle. Target: <= 8 KiB.
// CPU is user + system time of the proxy's process group (/proc), over the same number of connections
// in each case (rounds alternate, so drift on a shared machine hits both); the proxy is pinned to
// core 1, this driver (clients and the backend) to core 0.
// Env: RUNTIMES (default node,bun,deno), CONNS (connections per case and round, default 10000),
// ROUNDS (default 2), IDLE (idle connections, default 5000), CONC (concurrent clients, default 32).
import { spawnSync } from "node:child_process";
import net from "node:net";
import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nodeBin } from "../build/node-bin.mjs";
import { freePort, have, pin, sleep, start, stop, waitPort, serveCommands } from "./lib/processes.mjs";

const root = new URL("..", import.meta.url).pathname;
const env = (name, fallback) => Number(process.env[name] ?? fallback);
const RUNTIMES = (process.env.RUNTIMES ?? "node,bun,deno").split(",");
const CONNS = env("CONNS", 10_000), ROUNDS = env("ROUNDS", 2), CONC = env("CONC", 32);
const CLIENT_IPS = 10_000;
const PHASE_DEADLINE_MS = 180_000;

// 5,000 idle connections need ~10,000 descriptors in the proxy and as many here: run under the hard limit.
if (!process.env.COST_BENCH_RAISED) {
  const argv = [process.execPath, ...process.argv.slice(1)];
  const pinned = have("taskset") ? pin(0, argv) : argv;
  const r = spawnSync("sh", ["-c", 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"', "sh", ...pinned], { stdio: "inherit", env: { ...process.env, COST_BENCH_RAISED: "1" } });
  process.exit(r.status ?? 1);
}
const fdLimit = Number(spawnSync("sh", ["-c", "ulimit -n"], { encoding: "utf8" }).stdout.trim()) || 1024;
const IDLE = Math.min(env("IDLE", 5000), Math.floor((fdLimit - 200) / 2));
if (IDLE < env("IDLE", 5000)) console.log(`(open-file limit ${fdLimit}: ${IDLE} idle connections instead of ${env("IDLE", 5000)})`);

const clientIp = (i) => `127.${1 + (i >> 8)}.${i & 255}.1`; // the i-th client /24 of bench/lib/city-db.ts
const DISTINCT = Array.from({ length: CLIENT_IPS }, (_, i) => clientIp(i));
const ONE = [clientIp(0)];
const RESPONSE = Buffer.alloc(64, "r");

// ─── the backend, in this process: "c" → 64 bytes and close; "i" → one byte back, then idle ───
const idleBackendSockets = new Set();
const backend = net.createServer((socket) => {
  socket.on("error", () => {});
  socket.once("data", (d) => {
    if (d[0] === 0x63) socket.end(RESPONSE);
    else {
      idleBackendSockets.add(socket);
      socket.on("close", () => idleBackendSockets.delete(socket));
      socket.write("y");
    }
  });
});
backend.maxConnections = 100_000;
await new Promise((r) => backend.listen(0, "127.0.0.1", 4096, r));
const backendPort = backend.address().port;

// ─── the proxy's process group in /proc ───
function groupStats(pgid) {
  let ticks = 0, userTicks = 0, rssKiB = 0;
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    let stat;
    try { stat = readFileSync(`/proc/${name}/stat`, "utf8"); } catch { continue; }
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // f[0] = state (field 3)
    if (Number(f[2]) !== pgid) continue;
    userTicks += Number(f[11]);
    ticks += Number(f[11]) + Number(f[12]);
    try { rssKiB += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${name}/status`, "utf8"))?.[1] ?? 0); } catch {}
  }
  const tick = 1e6 / 100; // µs per clock tick (USER_HZ is 100 on Linux)
  return { cpuUs: ticks * tick, userUs: userTicks * tick, rssKiB };
}

/** `count` connections, `CONC` at a time, the i-th from ips[i % ips.length]: send "c", read 64 bytes and EOF. */
function connections(port, ips, count) {
  return new Promise((resolve) => {
    let next = 0, ok = 0, failed = 0;
    const timer = setTimeout(() => resolve({ ok, failed: failed + count - ok - failed }), PHASE_DEADLINE_MS);
    const finish = (good) => {
      good ? ok++ : failed++;
      if (ok + failed === count) (clearTimeout(timer), resolve({ ok, failed }));
      else launch();
    };
    const launch = () => {
      if (next >= count) return;
      const i = next++;
      const socket = net.connect({ port, host: "127.0.0.1", localAddress: ips[i % ips.length] });
      let got = 0;
      socket.on("connect", () => socket.write("c"));
      socket.on("data", (d) => (got += d.length));
      socket.on("error", () => {});
      socket.on("close", () => finish(got === RESPONSE.length));
    };
    for (let k = 0; k < Math.min(CONC, count); k++) launch();
  });
}

/** Opens `count` connections that exchange one byte each way and stay open; resolves with them. */
function openIdle(port, count) {
  return new Promise((resolve) => {
    const open = [];
    let next = 0, settled = 0;
    const timer = setTimeout(() => resolve(open), PHASE_DEADLINE_MS);
    const done = () => {
      if (++settled === count) (clearTimeout(timer), resolve(open));
      else launch();
    };
    const launch = () => {
      if (next >= count) return;
      const i = next++;
      const socket = net.connect({ port, host: "127.0.0.1", localAddress: DISTINCT[i % DISTINCT.length] });
      socket.on("connect", () => socket.write("i"));
      socket.once("data", () => (open.push(socket), done()));
      socket.on("error", () => {});
      socket.once("close", () => { if (!open.includes(socket)) done(); });
    };
    for (let k = 0; k < 64; k++) launch();
  });
}

async function until(check, ms) {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) if (check()) return true;
  return check();
}

const serveCmd = serveCommands();

const work = mkdtempSync(join(tmpdir(), "edgeproxy-cost-"));
const geo = join(work, "city.mmdb");
console.log(`writing a City-shaped GeoIP database with ${CLIENT_IPS.toLocaleString("en-US")} cities…`);
const gen = spawnSync(nodeBin(), ["bench/lib/city-db.ts", geo, String(CLIENT_IPS)], { cwd: root, stdio: "inherit" });
if (gen.status !== 0) process.exit(1);

const results = [];
for (const rt of RUNTIMES) {
  const port = await freePort();
  const argv = ["sh", "-c", 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"', "sh", ...(have("taskset") ? pin(1, serveCmd[rt]) : serveCmd[rt])];
  const proxy = start(argv, { BACKEND_HOST: "127.0.0.1", BACKEND_PORT: String(backendPort), LISTEN_PORT: String(port), BENCH_GEOIP_PATH: geo });
  try {
    await waitPort(port, proxy, 60_000); // a loaded machine: a proxy can take a while to start
    // Warm-up: both paths compiled, pools and tables grown, before anything is counted.
    await connections(port, ONE, 1000);
    await connections(port, DISTINCT.slice(-500), 1000);
    const cost = { one: { cpuUs: 0, userUs: 0, ok: 0, failed: 0 }, distinct: { cpuUs: 0, userUs: 0, ok: 0, failed: 0 } };
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, ips] of [["one", ONE], ["distinct", DISTINCT]]) {
        const before = groupStats(proxy.pid);
        const r = await connections(port, ips, CONNS);
        const after = groupStats(proxy.pid);
        const c = cost[name];
        c.cpuUs += after.cpuUs - before.cpuUs;
        c.userUs += after.userUs - before.userUs;
        c.ok += r.ok;
        c.failed += r.failed;
      }
    }
    // Idle connections: RSS before and after opening them.
    await sleep(1000);
    const rssBefore = groupStats(proxy.pid).rssKiB;
    const idle = await openIdle(port, IDLE);
    await until(() => idleBackendSockets.size >= idle.length, 10_000);
    await sleep(2000); // let the runtime settle (timers armed, early buffers gone)
    const rssAfter = groupStats(proxy.pid).rssKiB;
    for (const s of idle) s.destroy();
    await until(() => idleBackendSockets.size === 0, 30_000);
    const per = (c) => (c.ok ? c.cpuUs / c.ok : NaN);
    const perUser = (c) => (c.ok ? c.userUs / c.ok : NaN);
    results.push({
      rt,
      one: per(cost.one), distinct: per(cost.distinct), oneUser: perUser(cost.one), distinctUser: perUser(cost.distinct),
      failed: cost.one.failed + cost.distinct.failed,
      idle: idle.length, kibPerIdle: idle.length ? (rssAfter - rssBefore) / idle.length : NaN, rssBefore,
    });
  } catch (err) {
    console.error(`${rt}: ${err.message}`);
    results.push({ rt, failed: "proxy failed" });
  } finally {
    await stop(proxy);
  }
}
backend.close();
for (const s of idleBackendSockets) s.destroy();

const fmt = (v, d = 1) => (Number.isFinite(v) ? v.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d }) : "—");
const mark = (ok) => (ok ? "ok" : "MISSED");
console.log(`\nProxy cost per connection (${ROUNDS} × ${CONNS.toLocaleString("en-US")} connections per case, ${CONC} concurrent; City-shaped GeoIP, one city per client /24)\n`);
console.log("| runtime | CPU µs/conn, one IP (user) | CPU µs/conn, 10,000 IPs (user) | distinct / one (≤ 1.2) | idle conns | RSS KiB per idle conn (≤ 8) | failed |");
console.log("|---|---:|---:|---:|---:|---:|---:|");
for (const r of results) {
  const ratio = r.distinct / r.one;
  console.log(`| ${r.rt} | ${fmt(r.one)} (${fmt(r.oneUser)}) | ${fmt(r.distinct)} (${fmt(r.distinctUser)}) | ${fmt(ratio, 2)} ${Number.isFinite(ratio) ? mark(ratio <= 1.2) : ""} | ${r.idle ?? "—"} | ${fmt(r.kibPerIdle)} ${Number.isFinite(r.kibPerIdle) ? mark(r.kibPerIdle <= 8) : ""} | ${r.failed} |`);
}
console.log("\nCPU: user + system time of the proxy's processes (/proc, 10 ms ticks); RSS: VmRSS before and after opening the idle connections (each moved one byte each way first).");
process.exit(0);

#!/usr/bin/env node
// npm run bench (workers dimension, issue 11): edgeProxy with EDGEPROXY_WORKERS=1 vs 2 per runtime.
// close64 (wrk, 64 concurrent, a new connection per request) and bulk8 (iperf3, 8 streams), with the
// proxy's CPU per connection (close64) and per GB (bulk8) read from /proc/<pid>/stat around each run:
// with no contention between workers it should not grow with the worker count.
// Not pinned: two workers need both cores of this 2-core machine, so load generator, backends and
// proxy share them, and the throughput figures mean little here; the CPU per unit is the figure.
// Env: DUR (seconds per scenario, default 4), RUNTIMES (default "node,bun,deno"), WORKERS (default "1,2").
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, requireTools, sleep, start, startHttpBackend, stop, waitPort, serveCommands } from "./lib/processes.mjs";

const DUR = Number(process.env.DUR ?? 4);
const RUNTIMES = (process.env.RUNTIMES ?? "node,bun,deno").split(",");
const WORKERS = (process.env.WORKERS ?? "1,2").split(",").map(Number);
requireTools("bench", ["iperf3", "wrk"], "apt-get install iperf3 wrk");

const TICK = 100; // USER_HZ
/** utime + stime of a process and all its threads, in seconds. */
function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / TICK;
}

function wrkClose(port) {
  const r = spawnSync("wrk", ["-t1", "-c64", `-d${DUR}s`, "-H", "Connection: close", `http://127.0.0.1:${port}/`], { encoding: "utf8" });
  return { perSec: Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1] ?? 0), total: Number(/(\d+) requests in/.exec(r.stdout)?.[1] ?? 0) };
}
function iperf(port, streams) {
  const r = spawnSync("iperf3", ["-c", "127.0.0.1", "-p", String(port), "-t", String(DUR), "-P", String(streams), "-J"], { encoding: "utf8" });
  const end = JSON.parse(r.stdout).end;
  return { gbits: end.sum_received.bits_per_second / 1e9, gbytes: end.sum_received.bytes / 1e9 };
}

const work = mkdtempSync(join(tmpdir(), "edgeproxy-bench-workers-"));
const iperfPort = await freePort();
const iperfServer = start(["iperf3", "-s", "-B", "127.0.0.1", "-p", String(iperfPort)]);
await waitPort(iperfPort, iperfServer);
const httpPort = await freePort();
const httpServer = startHttpBackend(work, httpPort);
await waitPort(httpPort, httpServer);

const serveCmd = serveCommands({ unstableNet: true });

const results = [];
for (const rt of RUNTIMES) {
  for (const workers of WORKERS) {
    const pBulk = await freePort(), pHttp = await freePort();
    const env = { EDGEPROXY_WORKERS: String(workers) };
    const a = start(serveCmd[rt], { ...env, BACKEND_HOST: "127.0.0.1", BACKEND_PORT: String(iperfPort), LISTEN_PORT: String(pBulk) });
    const b = start(serveCmd[rt], { ...env, BACKEND_HOST: "127.0.0.1", BACKEND_PORT: String(httpPort), LISTEN_PORT: String(pHttp) });
    try {
      await waitPort(pBulk, a); await waitPort(pHttp, b);
      await sleep(500 + 300 * workers); // every worker listening
      let cpu = cpuSeconds(b.pid);
      const close = wrkClose(pHttp);
      const closeCpu = cpuSeconds(b.pid) - cpu;
      cpu = cpuSeconds(a.pid);
      const bulk = iperf(pBulk, 8);
      const bulkCpu = cpuSeconds(a.pid) - cpu;
      results.push({ rt, workers, close64: close.perSec, usPerConn: close.total ? (closeCpu / close.total) * 1e6 : 0, bulk8: bulk.gbits, cpuPerGB: bulk.gbytes ? bulkCpu / bulk.gbytes : 0 });
    } catch (err) {
      console.error(`${rt} workers=${workers}: ${err.message}`);
      results.push({ rt, workers, close64: 0, usPerConn: 0, bulk8: 0, cpuPerGB: 0 });
    } finally {
      await stop(a); await stop(b);
    }
  }
}
await stop(iperfServer); await stop(httpServer);

const fmt = (v, d) => v.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });
console.log(`\nedgeProxy worker threads (EDGEPROXY_WORKERS) on loopback, ${DUR} s per scenario, nothing pinned\n`);
console.log("| runtime | workers | close64 conn/s | proxy CPU µs/conn | bulk8 Gbit/s | proxy CPU s/GB | µs/conn vs 1 worker |");
console.log("|---|---:|---:|---:|---:|---:|---:|");
for (const r of results) {
  const one = results.find((x) => x.rt === r.rt && x.workers === 1);
  const ratio = one && one.usPerConn ? fmt(r.usPerConn / one.usPerConn, 2) : "–";
  console.log(`| ${r.rt} | ${r.workers} | ${fmt(r.close64, 0)} | ${fmt(r.usPerConn, 1)} | ${fmt(r.bulk8, 1)} | ${fmt(r.cpuPerGB, 2)} | ${ratio} |`);
}
process.exit(0);

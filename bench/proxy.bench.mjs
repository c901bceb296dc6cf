#!/usr/bin/env node
// npm run bench: edgeProxy (bench/serve.ts, routing fully on) vs a direct connection, per runtime, on
// loopback. bulk1/bulk8 = iperf3 one and eight streams (Gbit/s); close64 = wrk, 64 concurrent,
// a new TCP connection per request to a tiny HTTP backend (connections/s). Pinning as in
// ../shared/bench: load generator + backends on core 0, the proxy alone on core 1.
// Needs: iperf3, wrk (apt-get install iperf3 wrk); nginx is used as the HTTP backend when present.
// Env: DUR (seconds per scenario, default 4), RUNTIMES (default "node,bun,deno").
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, pin, requireTools, sleep, start, startHttpBackend, stop, waitPort, serveCommands } from "./lib/processes.mjs";

const DUR = Number(process.env.DUR ?? 4);
const RUNTIMES = (process.env.RUNTIMES ?? "node,bun,deno").split(",");
requireTools("bench", ["iperf3", "wrk", "taskset"], "apt-get install iperf3 wrk util-linux");

function iperf(port, streams) {
  const r = spawnSync(pin(0, ["iperf3"])[0], [...pin(0, ["iperf3"]).slice(1), "-c", "127.0.0.1", "-p", String(port), "-t", String(DUR), "-P", String(streams), "-J"], { encoding: "utf8" });
  const j = JSON.parse(r.stdout);
  return j.end.sum_received.bits_per_second / 1e9;
}
function wrkClose(port) {
  const argv = pin(0, ["wrk", "-t1", "-c64", `-d${DUR}s`, "-H", "Connection: close", `http://127.0.0.1:${port}/`]);
  const r = spawnSync(argv[0], argv.slice(1), { encoding: "utf8" });
  const m = /Requests\/sec:\s+([\d.]+)/.exec(r.stdout);
  const errs = /Socket errors: (.*)/.exec(r.stdout)?.[1];
  return { value: m ? Number(m[1]) : 0, errs };
}

const work = mkdtempSync(join(tmpdir(), "edgeproxy-bench-"));
const iperfPort = await freePort();
const iperfServer = start(pin(0, ["iperf3", "-s", "-B", "127.0.0.1", "-p", String(iperfPort)]));
await waitPort(iperfPort, iperfServer);
const httpPort = await freePort();
const httpServer = startHttpBackend(work, httpPort);
await waitPort(httpPort, httpServer);

const serveCmd = serveCommands({ unstableNet: true });

const results = [];
const direct = { bulk1: iperf(iperfPort, 1), bulk8: iperf(iperfPort, 8), close64: wrkClose(httpPort).value };
results.push({ target: "direct", ...direct });
for (const rt of RUNTIMES) {
  const pBulk = await freePort(), pHttp = await freePort();
  // One worker: the proxy is pinned to one core (bench/workers.bench.mjs compares 1 and 2 workers).
  const a = start(pin(1, serveCmd[rt]), { EDGEPROXY_WORKERS: "1", BACKEND_HOST: "127.0.0.1", BACKEND_PORT: String(iperfPort), LISTEN_PORT: String(pBulk) });
  const b = start(pin(1, serveCmd[rt]), { EDGEPROXY_WORKERS: "1", BACKEND_HOST: "127.0.0.1", BACKEND_PORT: String(httpPort), LISTEN_PORT: String(pHttp) });
  try {
    await waitPort(pBulk, a); await waitPort(pHttp, b);
    await sleep(300);
    const close = wrkClose(pHttp);
    results.push({ target: `edgeproxy-${rt}`, bulk1: iperf(pBulk, 1), bulk8: iperf(pBulk, 8), close64: close.value, errs: close.errs });
  } catch (err) {
    console.error(`${rt}: ${err.message}`);
    results.push({ target: `edgeproxy-${rt}`, bulk1: 0, bulk8: 0, close64: 0, errs: "failed" });
  } finally {
    await stop(a); await stop(b);
  }
}
await stop(iperfServer); await stop(httpServer);

const fmt = (v, d) => v.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });
console.log(`\nedgeProxy vs direct on loopback (${DUR} s per scenario; proxy pinned to core 1, load + backends to core 0)\n`);
console.log("| target | bulk1 Gbit/s | bulk8 Gbit/s | close64 conn/s | ratio bulk1 | ratio bulk8 | ratio close64 |");
console.log("|---|---:|---:|---:|---:|---:|---:|");
for (const r of results) {
  const ratio = (k) => (r.target === "direct" ? "1.00" : fmt(r[k] / direct[k], 2));
  console.log(`| ${r.target} | ${fmt(r.bulk1, 1)} | ${fmt(r.bulk8, 1)} | ${fmt(r.close64, 0)}${r.errs ? ` [${r.errs}]` : ""} | ${ratio("bulk1")} | ${ratio("bulk8")} | ${ratio("close64")} |`);
}
process.exit(0);

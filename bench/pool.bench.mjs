#!/usr/bin/env node
// npm run bench:pool — what the backend connection pool saves when the backend is far away.
//
//   wrk ──► edgeProxy (bench/serve.ts, core 1) ──► delay link, RTT DELAY_MS (bench/delay-link.mjs) ──► nginx
//
// Every request is a new client connection (wrk, Connection: close). Without the pool the proxy
// connects to the backend for each client, and the connection setup costs one round trip before the
// request can go; with it, a pre-connected socket is handed over and replaced in the background.
// The far-away backend is emulated by a forwarder on loopback, because this machine's kernel has no
// netem qdisc (a network namespace with `tc qdisc ... netem delay` fails: "Specified qdisc kind is
// unknown"; no /lib/modules to load it from). Everything listens on 127.0.0.1 only.
// Bounded: DUR seconds per cell, the whole run at most 5 minutes.
// Env: DUR (default 5), DELAY_MS (default 20), RUNTIMES (default "bun"), CONC (default "1,4,32").
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, pin, requireTools, start, startHttpBackend, stop, waitPort, serveCommands } from "./lib/processes.mjs";

const DUR = Number(process.env.DUR ?? 5);
const DELAY_MS = Number(process.env.DELAY_MS ?? 20);
const RUNTIMES = (process.env.RUNTIMES ?? "bun").split(",");
const CONC = (process.env.CONC ?? "1,4,32").split(",").map(Number);

requireTools("bench:pool", ["wrk", "taskset"], "apt-get install wrk util-linux");
setTimeout(() => { console.error("bench:pool: over 5 minutes, stopping"); process.exit(1); }, 300_000).unref();

// ---- the backend (nginx when installed) behind the delay link
const work = mkdtempSync(join(tmpdir(), "edgeproxy-pool-bench-"));
const httpPort = await freePort();
const backend = startHttpBackend(work, httpPort);
await waitPort(httpPort, backend);
const linkPort = await freePort();
const link = start(pin(0, [process.execPath, "bench/delay-link.mjs", String(linkPort), String(httpPort), String(DELAY_MS)]));
await waitPort(linkPort, link);

function wrk(port, conc) {
  const argv = pin(0, ["wrk", "-t1", `-c${conc}`, `-d${DUR}s`, "--latency", "-H", "Connection: close", `http://127.0.0.1:${port}/`]);
  const out = spawnSync(argv[0], argv.slice(1), { encoding: "utf8" }).stdout ?? "";
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  const ms = (label) => {
    const m = new RegExp(`^\\s+${label}%\\s+([\\d.]+)(us|ms|s)$`, "m").exec(out);
    if (!m) return NaN;
    return Number(m[1]) * (m[2] === "us" ? 0.001 : m[2] === "s" ? 1000 : 1);
  };
  return { rps, p50: ms("50"), p99: ms("99"), errs: /Socket errors: (.*)/.exec(out)?.[1] };
}

const serveCmd = serveCommands();
const modes = [
  ["pool off", { EDGEPROXY_POOL_ENABLED: "false" }],
  ["pool on (max 10)", { EDGEPROXY_POOL_ENABLED: "true", EDGEPROXY_POOL_MAX_PER_BACKEND: "10" }],
  ["pool on (max 64)", { EDGEPROXY_POOL_ENABLED: "true", EDGEPROXY_POOL_MAX_PER_BACKEND: "64" }],
];

const results = [];
for (const rt of RUNTIMES) {
  for (const [mode, env] of modes) {
    const port = await freePort();
    const proxy = start(pin(1, serveCmd[rt]), { BACKEND_HOST: "127.0.0.1", BACKEND_PORT: String(linkPort), LISTEN_PORT: String(port), ...env });
    try {
      await waitPort(port, proxy);
      wrk(port, 2); // warm-up (JIT; the pool's first fill)
      for (const conc of CONC) results.push({ rt, mode, conc, ...wrk(port, conc) });
    } catch (err) {
      console.error(`${rt} ${mode}: ${err.message}`);
    } finally {
      await stop(proxy);
    }
  }
}
await stop(link);
await stop(backend);

const fmt = (v, d) => (Number.isFinite(v) ? v.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d }) : "-");
console.log(`\nPool off vs on: a new client connection per request, backend ${DELAY_MS} ms RTT away (delay link), ${DUR} s per cell\n`);
console.log("| runtime | mode | clients | req/s | p50 ms | p99 ms | vs pool off |");
console.log("|---|---|---:|---:|---:|---:|---:|");
for (const r of results) {
  const base = results.find((b) => b.rt === r.rt && b.conc === r.conc && b.mode === "pool off");
  console.log(`| ${r.rt} | ${r.mode} | ${r.conc} | ${fmt(r.rps, 0)}${r.errs ? ` [${r.errs}]` : ""} | ${fmt(r.p50, 1)} | ${fmt(r.p99, 1)} | ${base ? fmt(r.rps / base.rps, 2) + "×" : "-"} |`);
}
process.exit(0);

// Process helpers shared by the benchmarks: start/stop children in their own process groups (all
// killed when the benchmark exits), pin them to a core, find a free port and wait for a listener.
import { spawn, spawnSync } from "node:child_process";
import net from "node:net";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { denoBin } from "../../build/deno-bin.mjs";
import { nodeBin } from "../../build/node-bin.mjs";

const root = new URL("../..", import.meta.url).pathname;
export const have = (cmd) => spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
export const pin = (core, argv) => ["taskset", "-c", String(core), ...argv];
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const children = [];
process.on("exit", () => { for (const c of children) try { process.kill(-c.pid, "SIGKILL"); } catch {} });
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => process.exit(130));

const USER_HZ = 100;
/** utime + stime of a process and all its threads, in seconds (Linux /proc). */
export function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
}

/** CPU time of the whole machine so far, in seconds: busy (not idle or waiting for I/O) and in all (Linux /proc/stat). */
export function machineCpuSeconds() {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: (total - f[3] - f[4]) / USER_HZ, total: total / USER_HZ };
}

/** Exits with a hint when a tool the benchmark needs is missing. */
export function requireTools(name, tools, hint) {
  for (const tool of tools) {
    if (!have(tool)) { console.error(`${name} needs ${tool}: ${hint}`); process.exit(1); }
  }
}

export function start(argv, env = {}) {
  const child = spawn(argv[0], argv.slice(1), { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "pipe"], detached: true });
  let err = "";
  child.stderr.on("data", (d) => { err += d; });
  child.errText = () => err;
  children.push(child);
  return child;
}
export async function stop(child) {
  try { process.kill(-child.pid, "SIGTERM"); } catch { return; }
  for (let i = 0; i < 30 && child.exitCode === null && child.signalCode === null; i++) await sleep(100);
  try { process.kill(-child.pid, "SIGKILL"); } catch {}
}
export async function freePort() {
  const s = net.createServer();
  await new Promise((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}
export async function waitPort(port, child, timeoutMs = 10_000) {
  for (const end = Date.now() + timeoutMs; Date.now() < end;) {
    if (child.exitCode !== null) throw new Error(`exited: ${child.errText()}`);
    const ok = await new Promise((r) => { const c = net.connect(port, "127.0.0.1", () => { c.destroy(); r(true); }); c.on("error", () => r(false)); });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`nothing listens on ${port}: ${child.errText()}`);
}

/** The small-response HTTP backend on core 0: nginx when installed (files under `work`), else node:http. */
export function startHttpBackend(work, port) {
  if (!have("nginx")) {
    console.log("(nginx not found: HTTP backend is node:http, slower; direct figures are lower)");
    return start(pin(0, [process.execPath, "-e", `require("http").createServer((q,s)=>s.end("x".repeat(100))).listen(${port},"127.0.0.1")`]));
  }
  mkdirSync(join(work, "www")); mkdirSync(join(work, "tmp"));
  writeFileSync(join(work, "www", "index.html"), "x".repeat(100));
  writeFileSync(join(work, "nginx.conf"), `worker_processes 1; daemon off; pid ${work}/nginx.pid; error_log ${work}/nginx.err;
events { worker_connections 20000; }
http { access_log off; client_body_temp_path ${work}/tmp; proxy_temp_path ${work}/tmp; fastcgi_temp_path ${work}/tmp; uwsgi_temp_path ${work}/tmp; scgi_temp_path ${work}/tmp;
  server { listen 127.0.0.1:${port} backlog=4096; root ${work}/www; } }`);
  return start(pin(0, ["nginx", "-c", join(work, "nginx.conf")]));
}

/** argv that runs bench/serve.ts (the proxy with routing fully on) on each runtime, from the repo root.
 *  `unstableNet`: Deno gets --unstable-net, which its reusePort listeners (EDGEPROXY_WORKERS > 1) need. */
export function serveCommands({ unstableNet = false } = {}) {
  return {
    node: [nodeBin(), "bench/serve.ts"],
    bun: [join(root, "node_modules/.bin/bun"), "run", "bench/serve.ts"],
    deno: [denoBin(), "run", "-A", ...(unstableNet ? ["--unstable-net"] : []), "bench/serve.ts"],
  };
}

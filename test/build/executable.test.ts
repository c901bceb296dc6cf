// The single executable (`npm run build:exe`, build/build-exe.mjs) works on its own: built once, copied
// ALONE into an empty directory (no node_modules, no sources, a bare environment), it adds a backend,
// serves, proxies a connection to it, answers `health`, shows the store, and stops on SIGTERM.
// It is built with Bun whatever runtime runs the tests, so only the Node run builds and checks it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { repoRoot, runtime } from "../fixtures/runtime.ts";
import { startBackend } from "../fixtures/backends.ts";

const bun = join(repoRoot, "node_modules/.bin/bun");
const skip = runtime !== "node" ? "built with Bun once per suite run: checked in the Node run" : false;

interface Running {
  readonly child: ChildProcess;
  readonly logs: Record<string, unknown>[];
  waitForLog(text: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  readonly exited: Promise<number | null>;
}

/** Runs the executable in `dir` with only `env` (plus a bare PATH and HOME), collecting JSON log lines. */
function launch(dir: string, args: string[], env: Record<string, string>): Running {
  const child = spawn(join(dir, "edgeproxy"), args, { cwd: dir, env: bareEnv(dir, env), stdio: ["ignore", "pipe", "pipe"] });
  const logs: Record<string, unknown>[] = [];
  const waiters: { text: string; resolve: (line: Record<string, unknown>) => void }[] = [];
  let pending = "";
  const onText = (chunk: Buffer) => {
    pending += chunk.toString("utf8");
    let nl;
    while ((nl = pending.indexOf("\n")) >= 0) {
      const text = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      let line: Record<string, unknown>;
      try { line = JSON.parse(text); } catch { line = { msg: text }; }
      logs.push(line);
      for (const w of [...waiters]) if (String(line.msg ?? "").includes(w.text)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(line); }
    }
  };
  child.stdout!.on("data", onText);
  child.stderr!.on("data", onText);
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  let done = false;
  void exited.then(() => { done = true; });
  const dump = () => logs.map((l) => JSON.stringify(l)).join("\n");
  const waitForLog = (text: string, timeoutMs = 30_000) => {
    const found = logs.find((l) => String(l.msg ?? "").includes(text));
    if (found) return Promise.resolve(found);
    if (done) return Promise.reject(new Error(`exited before logging "${text}":\n${dump()}`));
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no log "${text}" within ${timeoutMs} ms:\n${dump()}`)), timeoutMs);
      waiters.push({ text, resolve: (l) => { clearTimeout(timer); resolve(l); } });
      void exited.then(() => { clearTimeout(timer); reject(new Error(`exited before logging "${text}":\n${dump()}`)); });
    });
  };
  return { child, logs, waitForLog, exited };
}

/** Bun writes the embedded libsql addon to $TMPDIR (.bun-*.node) to load it: a private one per test. */
function bareEnv(dir: string, env: Record<string, string>): Record<string, string> {
  return { PATH: "/usr/bin:/bin", HOME: dir, TMPDIR: join(dir, "..", "tmp"), NO_COLOR: "1", ...env };
}

/** Runs one CLI command of the executable to its end. */
function run(dir: string, args: string[], env: Record<string, string> = {}) {
  const res = spawnSync(join(dir, "edgeproxy"), args, { cwd: dir, env: bareEnv(dir, env), encoding: "utf8", timeout: 60_000 });
  return { code: res.status, out: res.stdout + res.stderr };
}

/** Through the proxy: the backend's greeting line, then `payload` echoed back. */
function roundTrip(port: number, payload: string): Promise<{ greeting: string; echoed: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: "127.0.0.1" });
    let buf = "";
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`no echo within 15 s, got ${JSON.stringify(buf)}`)); }, 15_000);
    socket.setEncoding("utf8");
    socket.on("connect", () => socket.write(payload));
    socket.on("data", (d: string) => {
      buf += d;
      const nl = buf.indexOf("\n");
      if (nl >= 0 && buf.length - nl - 1 >= payload.length) {
        clearTimeout(timer);
        socket.end();
        resolve({ greeting: buf.slice(0, nl), echoed: buf.slice(nl + 1) });
      }
    });
    socket.on("error", (e) => { clearTimeout(timer); reject(e); });
  });
}

const portOf = (line: Record<string, unknown>) => Number(String(line.addr).split(":").pop());

test("the single executable runs alone: node add, serve, proxy, health, db show, SIGTERM", { skip, timeout: 300_000 }, async (t) => {
  const tmp = mkdtempSync(join(tmpdir(), "edgeproxy-exe-"));
  const backend = await startBackend("echo-1");
  t.after(async () => {
    await backend.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  const built = join(tmp, "build", "edgeproxy");
  const build = spawnSync(bun, ["build/build-exe.mjs", "--outfile", built], { cwd: repoRoot, encoding: "utf8", timeout: 240_000 });
  assert.equal(build.status, 0, `build failed:\n${build.stdout}${build.stderr}`);
  t.diagnostic(build.stdout.trim());
  t.diagnostic(`size: ${(statSync(built).size / 1e6).toFixed(0)} MB`);

  const dir = join(tmp, "alone");
  mkdirSync(dir);
  mkdirSync(join(tmp, "tmp"));
  copyFileSync(built, join(dir, "edgeproxy"));
  spawnSync("chmod", ["755", join(dir, "edgeproxy")]);
  assert.deepEqual(readdirSync(dir), ["edgeproxy"]);
  const db = { EDGEPROXY_DB_PATH: "routing.db" };

  const added = run(dir, ["node", "add", "echo-1", "sa", "127.0.0.1", String(backend.port)], db);
  assert.equal(added.code, 0, added.out);
  assert.match(added.out, /added echo-1/i);

  // Two data-plane workers: the worker entry must be bundled in the file too.
  const serveEnv = { ...db, EDGEPROXY_WORKERS: "2", EDGEPROXY_LISTEN_ADDR: "127.0.0.1:0", EDGEPROXY_METRICS_ENABLED: "true", EDGEPROXY_METRICS_LISTEN_ADDR: "127.0.0.1:0", EDGEPROXY_SHUTDOWN_TIMEOUT_SECS: "5" };
  const startedAt = performance.now();
  const proxy = launch(dir, ["serve"], serveEnv);
  t.after(() => { if (proxy.child.exitCode === null) proxy.child.kill("SIGKILL"); });
  const listening = await proxy.waitForLog("edgeProxy listening");
  t.diagnostic(`start-up (spawn to "edgeProxy listening"): ${Math.round(performance.now() - startedAt)} ms`);
  const metricsPort = portOf(await proxy.waitForLog("metrics listening"));
  const port = portOf(listening);
  assert.equal(listening.runtime, "bun");

  const { greeting, echoed } = await roundTrip(port, "hello through one file\n");
  assert.equal(greeting, "echo-1");
  assert.equal(echoed, "hello through one file\n");

  const viaMetrics = run(dir, ["health"], { EDGEPROXY_METRICS_ENABLED: "true", EDGEPROXY_METRICS_LISTEN_ADDR: `127.0.0.1:${metricsPort}` });
  assert.equal(viaMetrics.code, 0, viaMetrics.out);
  assert.match(viaMetrics.out, /healthy: http:\/\/127\.0\.0\.1:\d+\/health \(EDGEPROXY_METRICS_LISTEN_ADDR\) answered 200/);
  const viaTcp = run(dir, ["health"], { EDGEPROXY_LISTEN_ADDR: `127.0.0.1:${port}` });
  assert.equal(viaTcp.code, 0, viaTcp.out);
  assert.match(viaTcp.out, /healthy: TCP connect to 127\.0\.0\.1:\d+ \(EDGEPROXY_LISTEN_ADDR\)/);

  const shown = run(dir, ["db", "show"], db);
  assert.equal(shown.code, 0, shown.out);
  assert.match(shown.out, new RegExp(`echo-1 .*127\\.0\\.0\\.1:${backend.port}`));

  process.kill(proxy.child.pid!, "SIGTERM");
  assert.equal(await proxy.exited, 0, JSON.stringify(proxy.logs));
  assert.ok(proxy.logs.some((l) => l.msg === "stopped"));
  const afterStop = run(dir, ["health"], { EDGEPROXY_LISTEN_ADDR: `127.0.0.1:${port}` });
  assert.equal(afterStop.code, 1, afterStop.out);
  assert.match(afterStop.out, /unhealthy: TCP connect/);

  // No arguments at all runs the proxy too (a container's ENTRYPOINT needs nothing more).
  const bare = launch(dir, [], serveEnv);
  t.after(() => { if (bare.child.exitCode === null) bare.child.kill("SIGKILL"); });
  await bare.waitForLog("edgeProxy listening");
  process.kill(bare.child.pid!, "SIGTERM");
  assert.equal(await bare.exited, 0);
  // Nothing beside the executable but the routing store it was told to use.
  assert.deepEqual(readdirSync(dir).filter((f) => !f.startsWith("routing.db")), ["edgeproxy"]);
});

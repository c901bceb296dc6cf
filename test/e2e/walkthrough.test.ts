// The README's one-minute walkthrough, step by step on the runtime running the tests: a demo backend
// (examples/demo-backend.mjs), added with the CLI, reached through the proxy, seen on the status page.
import { test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { repoRoot, runtimeCommand } from "../fixtures/runtime.ts";
import { tempDir } from "../fixtures/routing-db.ts";
import { startProxy } from "../fixtures/proxy-process.ts";
import { runCli } from "../cli/run-cli.ts";
import type { StatusReport } from "../../src/status/status-report.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function startDemoBackend(name: string): Promise<{ port: number; stop(): Promise<void> }> {
  const [cmd, ...argv] = runtimeCommand("examples/demo-backend.mjs", "0", name);
  const child = spawn(cmd!, argv, { cwd: repoRoot, stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise<void>((r) => child.on("exit", () => r()));
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => { child.kill("SIGKILL"); reject(new Error(`demo backend did not start: ${out}`)); }, 30_000);
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString("utf8");
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ port: Number(m[1]), stop: async () => { child.kill("SIGTERM"); await exited; } });
      }
    });
  });
}

/** One raw HTTP/1.1 request through the proxy; resolves with the socket and the first bytes answered. */
function request(port: number, path: string): Promise<{ socket: net.Socket; first: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: "127.0.0.1" }, () => socket.write(`GET ${path} HTTP/1.1\r\nHost: demo\r\n\r\n`));
    socket.setEncoding("utf8");
    socket.once("data", (first: string) => resolve({ socket, first }));
    socket.once("error", reject);
  });
}

test("walkthrough: demo backend, CLI add, a connection through the proxy, the status page", async () => {
  const tmp = tempDir("edgeproxy-walkthrough-");
  const db = join(tmp.dir, "routing.db");
  const demo = await startDemoBackend("demo-1");
  let proxy;
  try {
    const added = await runCli(["node", "add", "demo-1", "sa", "127.0.0.1", String(demo.port)], { EDGEPROXY_DB_PATH: db });
    assert.equal(added.code, 0, added.stderr);
    proxy = await startProxy({ EDGEPROXY_DB_PATH: db, EDGEPROXY_METRICS_ENABLED: "true", EDGEPROXY_METRICS_LISTEN_ADDR: "127.0.0.1:0" });
    const status = `http://${String((await proxy.waitForLog("edgeProxy metrics listening")).addr)}`;

    const hello = await request(proxy.port, "/");
    assert.match(hello.first, /^HTTP\/1\.1 200[\s\S]*hello from demo-1\n/);
    hello.socket.destroy();

    const held = await request(proxy.port, "/hold?secs=60");
    assert.match(held.first, /holding this connection/);
    let report: StatusReport | undefined;
    for (const deadline = Date.now() + 20_000; Date.now() < deadline; await sleep(100)) {
      report = await (await fetch(`${status}/status.json`)).json() as StatusReport;
      if (report.backends[0]?.active === 1) break;
    }
    assert.equal(report?.backends[0]?.id, "demo-1");
    assert.equal(report?.backends[0]?.active, 1, JSON.stringify(report));
    held.socket.destroy();
    assert.match(await (await fetch(`${status}/`)).text(), /<title>edgeProxy status<\/title>/);
  } finally {
    assert.equal(await proxy?.stop(), 0);
    await demo.stop();
    tmp.remove();
  }
});

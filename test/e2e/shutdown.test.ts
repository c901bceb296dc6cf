// Graceful shutdown of the real proxy process: SIGTERM closes the listener, /health says draining,
// in-flight connections keep working and finish, the process exits 0; at the timeout the rest are
// closed; a second signal exits at once.
import { test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import process from "node:process";
import { startBackend, holdConnection } from "../fixtures/backends.ts";
import { createRoutingDb } from "../fixtures/routing-db.ts";
import { startProxy, type ProxyProcess } from "../fixtures/proxy-process.ts";
import { DUPLICATE_WINDOW_MS } from "../../src/lifecycle/shutdown-signals.ts";

/** Resolves with the connect error code, or "connected". */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: "127.0.0.1" });
    socket.on("connect", () => { socket.destroy(); resolve("connected"); });
    socket.on("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

/** Writes `text` and resolves once it came back (the echo backend). */
function echo(socket: net.Socket, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let got = "";
    const onData = (d: string | Buffer) => {
      got += d.toString();
      if (got.includes(text)) { socket.off("data", onData); resolve(); }
    };
    socket.on("data", onData);
    socket.once("error", reject);
    socket.write(text);
  });
}

function closed(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => (socket.destroyed ? resolve() : socket.once("close", () => resolve())));
}

async function healthOf(url: string): Promise<{ status: number; body: { status: string } }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.json() as { status: string } };
}

async function setup(env: Record<string, string>) {
  const backend = await startBackend("b");
  const db = await createRoutingDb([{ id: "b", region: "sa", port: backend.port, soft_limit: 1000, hard_limit: 1000 }]);
  const proxy = await startProxy({
    EDGEPROXY_DB_PATH: db.path,
    EDGEPROXY_METRICS_ENABLED: "true", EDGEPROXY_METRICS_LISTEN_ADDR: "127.0.0.1:0",
    EDGEPROXY_API_ENABLED: "true", EDGEPROXY_API_LISTEN_ADDR: "127.0.0.1:0",
    ...env,
  });
  const metricsAddr = String((await proxy.waitForLog("edgeProxy metrics listening")).addr);
  const apiAddr = String((await proxy.waitForLog("edgeProxy API listening")).addr);
  return {
    backend, db, proxy, metricsAddr, apiAddr,
    async cleanup(sockets: net.Socket[] = []) {
      for (const s of sockets) s.destroy();
      if (proxy.child.exitCode === null) proxy.child.kill("SIGKILL");
      db.close();
      await backend.close();
    },
  };
}

const signal = (proxy: ProxyProcess, name: NodeJS.Signals) => process.kill(proxy.child.pid!, name);

test("SIGTERM with 50 connections in flight: none accepted after it, all complete, exit 0 before the timeout", async () => {
  const timeoutSecs = 60;
  const s = await setup({ EDGEPROXY_SHUTDOWN_TIMEOUT_SECS: String(timeoutSecs) });
  const held = await Promise.all(Array.from({ length: 50 }, () => holdConnection(s.proxy.port)));
  const sockets = held.map((h) => h.socket);
  try {
    assert.ok(held.every((h) => h.id === "b"), "all 50 spliced to the backend");
    assert.equal(s.backend.accepted, 50);

    signal(s.proxy, "SIGTERM");
    await s.proxy.waitForLog("shutting down");

    // Draining: both /health endpoints say so; the proxy port refuses new clients.
    for (const url of [`http://${s.metricsAddr}/health`, `http://${s.apiAddr}/health`]) {
      const h = await healthOf(url);
      assert.equal(h.status, 503, url);
      assert.equal(h.body.status, "draining", url);
    }
    const metrics = await (await fetch(`http://${s.metricsAddr}/metrics`)).text();
    assert.match(metrics, /^edgeproxy_draining 1$/m);
    assert.match(metrics, /^edgeproxy_connections_active 50$/m);
    assert.equal(await tryConnect(s.proxy.port), "ECONNREFUSED");

    // In-flight connections still carry bytes both ways, then finish on their own.
    await Promise.all(sockets.map((socket, i) => echo(socket, `still here ${i}\n`)));
    assert.equal(s.proxy.child.exitCode, null, "still running while connections are open");
    for (const socket of sockets) socket.end();
    await Promise.all(sockets.map(closed));

    const code = await s.proxy.exited;
    assert.equal(code, 0, s.proxy.logs.map((l) => JSON.stringify(l)).join("\n"));
    assert.equal(s.backend.accepted, 50, "no connection accepted after the signal");
    // Not cut off at the shutdown timeout (which logs it): the connections finished on their own.
    assert.ok(!s.proxy.logs.some((l) => String(l.msg).includes("shutdown timeout")), "nothing was cut off");
    assert.ok(s.proxy.logs.some((l) => l.msg === "stopped"));
  } finally {
    await s.cleanup(sockets);
  }
});

test("at EDGEPROXY_SHUTDOWN_TIMEOUT_SECS the connections still open are closed and the process exits 0", async () => {
  const s = await setup({ EDGEPROXY_SHUTDOWN_TIMEOUT_SECS: "1" });
  const held = await Promise.all(Array.from({ length: 5 }, () => holdConnection(s.proxy.port)));
  const sockets = held.map((h) => h.socket);
  try {
    signal(s.proxy, "SIGTERM");
    await Promise.all(sockets.map(closed)); // closed by the proxy, not by the client
    assert.equal(await s.proxy.exited, 0);
    const cut = s.proxy.logs.find((l) => String(l.msg).includes("shutdown timeout"));
    assert.ok(cut, "the cut-off is logged");
    assert.equal(cut.aborted, 5);
  } finally {
    await s.cleanup(sockets);
  }
});

test("a second signal during the drain exits at once", async () => {
  const s = await setup({ EDGEPROXY_SHUTDOWN_TIMEOUT_SECS: "600" });
  const { socket } = await holdConnection(s.proxy.port);
  try {
    signal(s.proxy, "SIGTERM");
    await s.proxy.waitForLog("draining connections");
    await new Promise((r) => setTimeout(r, DUPLICATE_WINDOW_MS + 100)); // a signal at once would be a twin
    signal(s.proxy, "SIGINT");
    assert.equal(await s.proxy.exited, 1);
    assert.ok(s.proxy.logs.some((l) => String(l.msg).includes("second signal")));
  } finally {
    await s.cleanup([socket]);
  }
});

test("SIGINT drains like SIGTERM: listener closed, /health draining on both listeners, in-flight finish, exit 0", async () => {
  const s = await setup({ EDGEPROXY_SHUTDOWN_TIMEOUT_SECS: "60" });
  const held = await Promise.all(Array.from({ length: 3 }, () => holdConnection(s.proxy.port)));
  const sockets = held.map((h) => h.socket);
  try {
    signal(s.proxy, "SIGINT");
    assert.equal((await s.proxy.waitForLog("shutting down")).signal, "SIGINT");
    for (const url of [`http://${s.metricsAddr}/health`, `http://${s.apiAddr}/health`]) {
      const h = await healthOf(url);
      assert.deepEqual([h.status, h.body.status], [503, "draining"], url);
    }
    assert.equal(await tryConnect(s.proxy.port), "ECONNREFUSED");
    await Promise.all(sockets.map((socket, i) => echo(socket, `after SIGINT ${i}\n`)));
    for (const socket of sockets) socket.end();
    assert.equal(await s.proxy.exited, 0);
    assert.equal(s.backend.accepted, 3, "no connection accepted after the signal");
    assert.ok(!s.proxy.logs.some((l) => String(l.msg).includes("shutdown timeout")), "nothing was cut off");
  } finally {
    await s.cleanup(sockets);
  }
});

test("Ctrl-C under a task runner (SIGINT from the terminal and again from the runner at once) still drains and exits 0", async () => {
  // Debug: the proxy logs the twin it ignores, which this test waits for.
  const s = await setup({ EDGEPROXY_SHUTDOWN_TIMEOUT_SECS: "60", EDGEPROXY_LOG_LEVEL: "debug" });
  const { socket } = await holdConnection(s.proxy.port);
  try {
    // `deno task start` forwards the terminal's SIGINT to the proxy, which got it too, a moment apart
    // (sent at the same instant, the kernel would merge the two into one).
    signal(s.proxy, "SIGINT");
    await s.proxy.waitForLog("draining connections");
    signal(s.proxy, "SIGINT");
    await s.proxy.waitForLog("signal delivered twice"); // handled (within DUPLICATE_WINDOW_MS: a twin)
    assert.equal(s.proxy.child.exitCode, null, "not forced out by the twin signal");
    await echo(socket, "still draining\n");
    socket.end();
    assert.equal(await s.proxy.exited, 0);
    assert.ok(!s.proxy.logs.some((l) => String(l.msg).includes("second signal")));
  } finally {
    await s.cleanup([socket]);
  }
});

// Data-plane worker threads (EDGEPROXY_WORKERS=4) end to end: the real proxy as a process, real sockets.
// Every worker must agree through the shared engine memory: hard limits, affinity, token buckets,
// circuits and route snapshots hold across them; SIGTERM drains them all; a worker that dies is
// restarted and gives back what it held. Per-worker counts come from edgeproxy_worker_* metrics.
import { test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import process from "node:process";
import { startBackend, holdConnection, refusedPort, whoAnswers } from "../fixtures/backends.ts";
import { createRoutingDb, type Row } from "../fixtures/routing-db.ts";
import { startProxy, type ProxyProcess } from "../fixtures/proxy-process.ts";

const WORKERS = 4;

async function setup(rows: (ports: Record<string, number>) => Row[], ids: string[], env: Record<string, string> = {}) {
  const backends = await Promise.all(ids.map((id) => startBackend(id)));
  const ports = Object.fromEntries(backends.map((b) => [b.id, b.port]));
  const db = await createRoutingDb(rows(ports));
  const proxy = await startProxy({
    EDGEPROXY_WORKERS: String(WORKERS), EDGEPROXY_DB_PATH: db.path, EDGEPROXY_DB_RELOAD_SECS: "1",
    EDGEPROXY_METRICS_ENABLED: "true", EDGEPROXY_METRICS_LISTEN_ADDR: "127.0.0.1:0", ...env,
  });
  assert.equal((await proxy.waitForLog("edgeProxy listening")).workers, WORKERS);
  const metricsAddr = String((await proxy.waitForLog("edgeProxy metrics listening")).addr);
  const metrics = async (): Promise<string> => (await fetch(`http://${metricsAddr}/metrics`)).text();
  return {
    backends, db, proxy, metrics,
    async cleanup(sockets: net.Socket[] = []) {
      for (const s of sockets) s.destroy();
      if (proxy.child.exitCode === null) await proxy.stop("SIGKILL");
      db.close();
      await Promise.all(backends.map((b) => b.close()));
    },
  };
}

/** The value of one series (0 when absent). */
function sample(text: string, series: string): number {
  const line = text.split("\n").find((l) => l.startsWith(series + " "));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

/** Per-worker values of a edgeproxy_worker_* series. */
function perWorker(text: string, name: string): number[] {
  return Array.from({ length: WORKERS }, (_, i) => sample(text, `${name}{worker="${i + 1}"}`));
}

async function waitFor<T>(what: string, probe: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await probe();
  while (!ok(value)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 50));
    value = await probe();
  }
  return value;
}

/** Until every worker accepted at least `min` connections (the reports lag by up to 250 ms). */
const everyWorkerAccepted = (metrics: () => Promise<string>, min = 1) =>
  waitFor("every worker to accept", async () => perWorker(await metrics(), "edgeproxy_worker_connections_accepted_total"), (v) => v.every((n) => n >= min));

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

test("200 concurrent connects through 4 workers never push a backend over its hard_limit", async () => {
  const s = await setup((p) => [{ id: "a", region: "sa", port: p.a!, soft_limit: 25, hard_limit: 25 }], ["a"]);
  const held = await Promise.all(Array.from({ length: 200 }, () => holdConnection(s.proxy.port).catch(() => ({ id: "", socket: null }))));
  const sockets = held.flatMap((h) => (h.socket ? [h.socket] : []));
  try {
    const admitted = held.filter((h) => h.id === "a").length;
    assert.equal(s.backends[0]!.accepted, admitted, "the backend saw exactly the admitted connections");
    assert.equal(admitted, 25, "exactly hard_limit admitted across the workers");
    const text = await everyWorkerAccepted(s.metrics).then(() => s.metrics());
    assert.equal(sample(text, 'edgeproxy_backend_connections_active{backend="a",region="sa"}'), 25);
  } finally {
    await s.cleanup(sockets);
  }
});

test("one client IP connecting 50 times lands on one backend, whichever worker accepts it", async () => {
  const rows = (p: Record<string, number>) => ["a", "b", "c"].map((id) => ({ id, region: "sa", port: p[id]!, soft_limit: 1000, hard_limit: 1000 }));
  const s = await setup(rows, ["a", "b", "c"]);
  try {
    const first = await whoAnswers(s.proxy.port, "127.0.0.7");
    const rest = [];
    for (let i = 0; i < 49; i++) rest.push(await whoAnswers(s.proxy.port, "127.0.0.7"));
    assert.deepEqual(new Set(rest), new Set([first]), "every connection on the bound backend");
    const accepted = await waitFor("the reports", async () => perWorker(await s.metrics(), "edgeproxy_worker_connections_accepted_total"), (v) => v.reduce((a, b) => a + b, 0) === 50);
    assert.ok(accepted.filter((n) => n > 0).length >= 2, `the 50 connections were spread over several workers: ${accepted}`);
  } finally {
    await s.cleanup();
  }
});

test("a burst from one IP admits exactly `burst` connections across the workers", async () => {
  const s = await setup((p) => [{ id: "a", region: "sa", port: p.a!, soft_limit: 1000, hard_limit: 1000 }], ["a"], {
    EDGEPROXY_RATE_LIMIT_ENABLED: "true", EDGEPROXY_RATE_LIMIT_BURST: "10", EDGEPROXY_RATE_LIMIT_MAX_REQUESTS: "1", EDGEPROXY_RATE_LIMIT_WINDOW_SECS: "3600",
  });
  try {
    const answers = await Promise.all(Array.from({ length: 40 }, () => whoAnswers(s.proxy.port, "127.0.0.9").catch(() => "")));
    assert.equal(answers.filter((a) => a === "a").length, 10);
    // Each worker reports its counters on its own schedule: the refusals can be reported before the
    // admitted connections are, so wait for both sums (a worker counting too many never reaches 10).
    const text = await waitFor("the reports", () => s.metrics(), (t) => sample(t, "edgeproxy_rate_limited_connections_total") === 30 && sample(t, "edgeproxy_connections_total") === 10);
    assert.equal(sample(text, "edgeproxy_connections_total"), 10, "admitted, summed over the workers");
    assert.ok(perWorker(text, "edgeproxy_worker_connections_accepted_total").filter((n) => n > 0).length >= 2, "several workers took part");
  } finally {
    await s.cleanup();
  }
});

test("a circuit opened by a failure seen in one worker keeps every worker off the backend", async () => {
  const dead = await refusedPort();
  const s = await setup((p) => [
    { id: "dead", region: "sa", port: dead, soft_limit: 1000, hard_limit: 1000, weight: 1000 },
    { id: "b", region: "sa", port: p.b!, soft_limit: 1000, hard_limit: 1000, weight: 1 },
  ], ["b"], { EDGEPROXY_CIRCUIT_BREAKER_ENABLED: "true", EDGEPROXY_CIRCUIT_FAILURE_THRESHOLD: "1", EDGEPROXY_CIRCUIT_TIMEOUT_SECS: "3600" });
  try {
    assert.equal(await whoAnswers(s.proxy.port), "b", "failed over after the one failure");
    await s.proxy.waitForLog("circuit opened");
    const answers = [];
    for (let i = 0; i < 60; i++) answers.push(await whoAnswers(s.proxy.port));
    assert.ok(answers.every((a) => a === "b"));
    const text = await everyWorkerAccepted(s.metrics).then(() => waitFor("the reports", () => s.metrics(), (t) => sample(t, "edgeproxy_connections_total") === 61));
    assert.equal(sample(text, "edgeproxy_connect_failures_total"), 1, "no worker tried the open circuit's backend again");
    assert.equal(sample(text, 'edgeproxy_backend_circuit_state{backend="dead",region="sa"}'), 1);
  } finally {
    await s.cleanup();
  }
});

test("a route change reaches every worker", async () => {
  const s = await setup((p) => [{ id: "a", region: "sa", port: p.a!, soft_limit: 1000, hard_limit: 1000 }], ["a", "b"]);
  try {
    assert.equal(await whoAnswers(s.proxy.port), "a");
    const before = perWorker(await s.metrics(), "edgeproxy_worker_connections_accepted_total");
    const applied = s.proxy.nextLog("routes applied");
    s.db.insert({ id: "b", region: "sa", port: s.backends[1]!.port, soft_limit: 1000, hard_limit: 1000 });
    s.db.exec("UPDATE backends SET deleted = 1 WHERE id = 'a'");
    await applied;
    const answers = [];
    for (let i = 0; i < 60; i++) answers.push(await whoAnswers(s.proxy.port));
    assert.ok(answers.every((a) => a === "b"), `all on the new route: ${answers.join(",")}`);
    await waitFor("every worker to serve after the change", async () => perWorker(await s.metrics(), "edgeproxy_worker_connections_accepted_total"), (v) => v.every((n, i) => n > before[i]!));
  } finally {
    await s.cleanup();
  }
});

test("SIGTERM with connections open in every worker drains them all", async () => {
  const s = await setup((p) => [{ id: "a", region: "sa", port: p.a!, soft_limit: 1000, hard_limit: 1000 }], ["a"], { EDGEPROXY_SHUTDOWN_TIMEOUT_SECS: "60" });
  const held = await Promise.all(Array.from({ length: 40 }, () => holdConnection(s.proxy.port)));
  const sockets = held.map((h) => h.socket);
  try {
    assert.ok(held.every((h) => h.id === "a"));
    await waitFor("connections open in every worker", async () => perWorker(await s.metrics(), "edgeproxy_worker_connections_active"), (v) => v.every((n) => n > 0) && v.reduce((a, b) => a + b, 0) === 40);
    process.kill(s.proxy.child.pid!, "SIGTERM");
    await s.proxy.waitForLog("shutting down");
    await Promise.all(sockets.map((socket, i) => echo(socket, `still here ${i}\n`)));
    const signalledAt = Date.now();
    for (const socket of sockets) socket.end();
    assert.equal(await s.proxy.exited, 0);
    assert.ok(Date.now() - signalledAt < 30_000, "exited once drained, long before the timeout");
  } finally {
    await s.cleanup(sockets);
  }
});

test("a worker that crashes is restarted on its lane, gives back its reservations, and the others keep serving", async () => {
  const s = await setup((p) => [{ id: "a", region: "sa", port: p.a!, soft_limit: 1000, hard_limit: 1000 }], ["a"], { EDGEPROXY_TEST_WORKER_CRASH: "2:3" });
  const sockets: net.Socket[] = [];
  try {
    const died = s.proxy.waitForLog("worker died", 30_000);
    let outcome: unknown = null;
    void died.then((line) => (outcome = line), () => {});
    while (outcome === null && sockets.length < 400) sockets.push((await holdConnection(s.proxy.port).catch(() => ({ socket: null }))).socket!);
    const line = await died;
    assert.equal(line.worker, 2);
    assert.ok(Number(line.reclaimed) >= 1, `the dead worker's reservations were given back: ${JSON.stringify(line)}`);
    // The others serve at once, before and after the restart.
    for (let i = 0; i < 20; i++) assert.equal(await whoAnswers(s.proxy.port), "a");
    await s.proxy.waitForLog("worker restarted", 30_000);
    for (const socket of sockets) socket?.destroy();
    // Counts do not leak: with every client gone, the backend has no connection left counted.
    await waitFor("the active count back to 0", () => s.metrics(), (t) => sample(t, 'edgeproxy_backend_connections_active{backend="a",region="sa"}') === 0);
    // The restarted worker serves again (its listener is back in the SO_REUSEPORT group).
    const restartedBefore = perWorker(await s.metrics(), "edgeproxy_worker_connections_accepted_total")[1]!;
    let text = await s.metrics();
    for (let i = 0; i < 200 && perWorker(text, "edgeproxy_worker_connections_accepted_total")[1]! <= restartedBefore; i++) {
      assert.equal(await whoAnswers(s.proxy.port), "a");
      if (i % 10 === 9) text = await waitFor("the reports", () => s.metrics(), () => true);
    }
    text = await waitFor("the restarted worker to accept", () => s.metrics(), (t) => perWorker(t, "edgeproxy_worker_connections_accepted_total")[1]! > restartedBefore, 5000);
    assert.equal(sample(text, 'edgeproxy_worker_restarts_total{worker="2"}'), 1);
  } finally {
    await s.cleanup(sockets.filter(Boolean));
  }
});

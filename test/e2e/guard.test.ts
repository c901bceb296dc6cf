// Rate limiting and circuit breakers end to end, through the real proxy process on this runtime.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { startBackend, whoAnswers, type TestBackend } from "../fixtures/backends.ts";
import { startStuckListener, type StuckListener } from "../fixtures/stuck-listener.ts";
import { createRoutingDb, type RoutingDb } from "../fixtures/routing-db.ts";
import { startProxy, runToExit, type ProxyProcess } from "../fixtures/proxy-process.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A greeting echo backend on a fixed port (to bring a killed backend back where it was). */
function listenAgain(id: string, port: number): Promise<net.Server> {
  const server = net.createServer((s) => { s.on("error", () => {}); s.write(`${id}\n`); s.pipe(s); });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}

const logsWith = (proxy: ProxyProcess, msg: string, backend: string) =>
  proxy.logs.filter((l) => l.msg === msg && l.backend === backend);

describe("rate limit per client IP", () => {
  let backend: TestBackend;
  let db: RoutingDb;
  let proxy: ProxyProcess;

  before(async () => {
    backend = await startBackend("a");
    db = await createRoutingDb([{ id: "a", region: "sa", port: backend.port }]);
    proxy = await startProxy({
      EDGEPROXY_DB_PATH: db.path,
      EDGEPROXY_RATE_LIMIT_ENABLED: "true",
      EDGEPROXY_RATE_LIMIT_BURST: "5",
      EDGEPROXY_RATE_LIMIT_MAX_REQUESTS: "1",
      EDGEPROXY_RATE_LIMIT_WINDOW_SECS: "3600", // no refill during the test
    });
  });
  after(async () => {
    await proxy?.stop();
    db?.close();
    await backend?.close();
  });

  test("a burst over the limit gets exactly `burst` connections through; the rest are closed at once", async () => {
    const before = backend.accepted;
    // whoAnswers fails a connection that is neither answered nor closed within 5 s: a refused one left
    // to time out (the idle timeout is minutes) fails the test without a wall-clock bound here.
    const answers = await Promise.all(Array.from({ length: 12 }, () => whoAnswers(proxy.port, "127.0.80.1")));
    assert.equal(answers.filter((a) => a === "a").length, 5, `answers: ${JSON.stringify(answers)}`);
    assert.equal(answers.filter((a) => a === "").length, 7, "refused: closed without a byte");
    assert.equal(backend.accepted - before, 5, "a refused client never reaches a backend");
  });

  test("a refused client stays refused (no refill); another client has its own bucket", async () => {
    assert.equal(await whoAnswers(proxy.port, "127.0.80.1"), "");
    assert.equal(await whoAnswers(proxy.port, "127.0.80.2"), "a");
  });
});

describe("circuit breaker", () => {
  let near: TestBackend | null;
  let far: TestBackend;
  let revived: net.Server | null = null;
  let db: RoutingDb;
  let proxy: ProxyProcess;
  let nearPort: number;

  before(async () => {
    near = await startBackend("near");
    far = await startBackend("far");
    nearPort = near.port;
    // Without geo, "near" (this POP's region) always scores below "far" while it is a candidate.
    db = await createRoutingDb([{ id: "near", region: "sa", port: near.port }, { id: "far", region: "us", port: far.port }]);
    proxy = await startProxy({
      EDGEPROXY_DB_PATH: db.path,
      EDGEPROXY_REGION: "sa",
      EDGEPROXY_CIRCUIT_BREAKER_ENABLED: "true",
      EDGEPROXY_CIRCUIT_FAILURE_THRESHOLD: "2",
      EDGEPROXY_CIRCUIT_SUCCESS_THRESHOLD: "2",
      EDGEPROXY_CIRCUIT_TIMEOUT_SECS: "1",
    });
  });
  after(async () => {
    await proxy?.stop();
    db?.close();
    await near?.close();
    await far?.close();
    await new Promise((r) => (revived ? revived.close(r) : r(undefined)));
  });

  test("a killed backend opens its circuit, traffic moves elsewhere, then recovers through half-open", async () => {
    assert.equal(await whoAnswers(proxy.port, "127.0.81.1"), "near", "the bound client starts on near");
    await near!.close();
    near = null;

    // Two refused connects (failing over to far) open the circuit; after that near is not tried.
    for (let i = 10; i < 16; i++) assert.equal(await whoAnswers(proxy.port, `127.0.81.${i}`), "far");
    await proxy.waitForLog("circuit opened");
    assert.equal(logsWith(proxy, "backend connect failed", "near").length, 2, "only failure_threshold connects to the dead backend");
    assert.equal(logsWith(proxy, "circuit opened", "near").length, 1, "the transition is logged once");
    assert.equal(await whoAnswers(proxy.port, "127.0.81.1"), "far", "affinity does not bring the client back to an open circuit");
    assert.equal(logsWith(proxy, "backend connect failed", "near").length, 2);

    // The backend returns; after the timeout, probes reach it and close the circuit.
    revived = await listenAgain("near", nearPort);
    await sleep(1100);
    assert.equal(await whoAnswers(proxy.port, "127.0.81.20"), "near", "a half-open probe");
    assert.equal(logsWith(proxy, "circuit half-open", "near").length, 1);
    assert.equal(await whoAnswers(proxy.port, "127.0.81.21"), "near", "a second probe");
    await proxy.waitForLog("circuit closed");
    assert.equal(logsWith(proxy, "circuit closed", "near").length, 1);
    for (let i = 30; i < 34; i++) assert.equal(await whoAnswers(proxy.port, `127.0.81.${i}`), "near");
  });
});

describe("circuit breaker: connect timeouts count", () => {
  let stuck: StuckListener;
  let far: TestBackend;
  let db: RoutingDb;
  let proxy: ProxyProcess;

  before(async () => {
    stuck = await startStuckListener();
    far = await startBackend("far");
    db = await createRoutingDb([{ id: "stuck", region: "sa", port: stuck.port }, { id: "far", region: "us", port: far.port }]);
    proxy = await startProxy({
      EDGEPROXY_DB_PATH: db.path,
      EDGEPROXY_REGION: "sa",
      EDGEPROXY_CONNECT_TIMEOUT_MS: "300",
      EDGEPROXY_CIRCUIT_BREAKER_ENABLED: "true",
      EDGEPROXY_CIRCUIT_FAILURE_THRESHOLD: "2",
      EDGEPROXY_CIRCUIT_TIMEOUT_SECS: "60",
    });
  });
  after(async () => {
    await proxy?.stop();
    db?.close();
    await far?.close();
    await stuck?.close();
  });

  test("two connect timeouts open the circuit; the next client goes straight to another backend", async () => {
    for (let i = 1; i <= 2; i++) assert.equal(await whoAnswers(proxy.port, `127.0.82.${i}`), "far", "after a timeout, failover");
    await proxy.waitForLog("circuit opened");
    assert.equal(logsWith(proxy, "circuit opened", "stuck").length, 1);
    const failures = logsWith(proxy, "backend connect failed", "stuck");
    assert.ok(failures.length === 2 && failures.every((l) => /timeout/i.test(String(l.error))), `timeouts, not refusals: ${JSON.stringify(failures)}`);
    assert.equal(await whoAnswers(proxy.port, "127.0.82.3"), "far");
    assert.equal(logsWith(proxy, "backend connect failed", "stuck").length, 2, "no third attempt on the stuck backend");
  });
});

test("an invalid rate-limit or circuit variable stops startup with exit 2, naming it", async () => {
  for (const [name, value] of [["EDGEPROXY_RATE_LIMIT_BURST", "none"], ["EDGEPROXY_CIRCUIT_FAILURE_THRESHOLD", "0"]] as const) {
    const { code, stderr } = await runToExit({ [name]: value, EDGEPROXY_DB_PATH: "/nonexistent/never-opened.db" });
    assert.equal(code, 2, stderr);
    assert.match(stderr, new RegExp(`${name}: expected an integer from 1 to`));
  }
});

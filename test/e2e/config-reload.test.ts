// Config file hot reload end to end: the real proxy with EDGEPROXY_CONFIG_FILE and the watch on; the
// file is edited while connections are open and the new settings apply within the interval.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { startBackend, whoAnswers, holdConnection, refusedPort, type TestBackend } from "../fixtures/backends.ts";
import { createRoutingDb, type RoutingDb } from "../fixtures/routing-db.ts";
import { runToExit, startProxy, type ProxyProcess } from "../fixtures/proxy-process.ts";
import { countedConnections, METRICS_ON, metricsUrlOf } from "../fixtures/proxy-metrics.ts";

let backends: TestBackend[];
/** The proxy's /metrics, for the connections it still counts against each backend. */
let metricsUrl: string;

/** Connections the proxy counts against any backend now: what its selection reads. */
async function countedByProxy(): Promise<number> {
  const counts = await Promise.all(backends.map((b) => countedConnections(metricsUrl, b.id)));
  return counts.reduce((sum, n) => sum + n, 0);
}

/** Which backend each of 40 fresh clients (sources 127.0.<net>.1-40, never seen before) reaches, one
 *  at a time with every backend idle: weight only splits ties, and an idle backend beats a busy one. */
async function split(port: number, net: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let i = 1; i <= 40; i++) {
    const id = await whoAnswers(port, `127.0.${net}.${i}`);
    counts[id] = (counts[id] ?? 0) + 1;
    // Idle in the proxy's own count, not only at the backend: the backend sees the close before the
    // proxy has read the backend's FIN and released the slot, and a still-counted one loses the tie.
    for (const deadline = Date.now() + 10_000; (await countedByProxy()) !== 0;) {
      assert.ok(Date.now() < deadline, `the proxy still counts a connection 10 s after client ${i} closed`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }
  return counts;
}

/** Resolves with the next "config reloaded" line logged after the call. */
const nextReload = (proxy: ProxyProcess) => proxy.nextLog("config reloaded");

const overrides = (a: number, b: number) => `[backends.a]\nweight = ${a}\n\n[backends."b"]\nweight = ${b}\n`;

describe("config file hot reload", () => {
  let db: RoutingDb;
  let proxy: ProxyProcess;
  let file: string;

  before(async () => {
    backends = [await startBackend("a"), await startBackend("b")];
    // Equal weights in the store: only the file's overrides make the split lopsided.
    db = await createRoutingDb(backends.map((b) => ({ id: b.id, region: "sa", port: b.port, weight: 1 })));
    file = join(db.dir, "edgeproxy.toml");
    writeFileSync(file, overrides(100_000, 1));
    proxy = await startProxy({
      EDGEPROXY_DB_PATH: db.path, EDGEPROXY_CONFIG_FILE: file, EDGEPROXY_CONFIG_WATCH_ENABLED: "true", EDGEPROXY_CONFIG_WATCH_INTERVAL_SECS: "1", ...METRICS_ON,
    });
    metricsUrl = await metricsUrlOf(proxy);
  });
  after(async () => {
    assert.equal(await proxy.stop(), 0);
    for (const b of backends) await b.close();
    db.close();
  });

  test("a weight override edit changes the traffic split live, without dropping an open connection", async () => {
    const before = await split(proxy.port, 30);
    assert.ok((before.a ?? 0) >= 38, `file weights a=100000 b=1: ${JSON.stringify(before)}`);
    const open = await holdConnection(proxy.port, "127.0.29.1");

    const reloaded = nextReload(proxy);
    writeFileSync(file, overrides(1, 100_000));
    await reloaded;
    open.socket.write("still here\n");
    const echo = await new Promise<string>((resolve) => open.socket.once("data", (d) => resolve(String(d))));
    assert.equal(echo, "still here\n");
    open.socket.destroy();
    const after = await split(proxy.port, 31);
    assert.ok((after.b ?? 0) >= 38, `file weights a=1 b=100000: ${JSON.stringify(after)}`);
  });

  test("an invalid edit is rejected with a logged error naming the key; the previous settings stay", async () => {
    const reloads = proxy.logs.filter((l) => l.msg === "config reloaded").length;
    writeFileSync(file, `${overrides(100_000, 1)}\n[rate_limit]\nburst = -1\n`);
    const rejected = await proxy.waitForLog("config file rejected");
    assert.match(String(rejected.error), /config file .*edgeproxy\.toml: rate_limit\.burst: expected an integer from 1 to \d+, got -1/);
    assert.equal(proxy.logs.filter((l) => l.msg === "config reloaded").length, reloads);
    const still = await split(proxy.port, 32);
    assert.ok((still.b ?? 0) >= 38, `previous weights (b=100000) still apply: ${JSON.stringify(still)}`);
  });

  test("removing the overrides restores the store's weights", async () => {
    const next = nextReload(proxy);
    writeFileSync(file, "# no overrides\n");
    assert.deepEqual((await next).backends, {});
    const even = await split(proxy.port, 33);
    assert.ok((even.a ?? 0) >= 5 && (even.b ?? 0) >= 5, `equal store weights: ${JSON.stringify(even)}`);
  });

  // The rate limiter reads settings.current().rateLimit on every new connection.
  test("a rate-limit edit applies live: burst 2 → 5 for a new client", async () => {
    let next = nextReload(proxy);
    writeFileSync(file, "[rate_limit]\nenabled = true\nmax_requests = 1\nwindow_secs = 3600\nburst = 2\n");
    await next;
    const first = [];
    for (let i = 0; i < 3; i++) first.push(await whoAnswers(proxy.port, "127.0.40.1"));
    assert.deepEqual(first.map((id) => id !== ""), [true, true, false], "burst 2: the third connection is refused");

    next = nextReload(proxy);
    writeFileSync(file, "[rate_limit]\nenabled = true\nmax_requests = 1\nwindow_secs = 3600\nburst = 5\n");
    await next;
    const second = [];
    for (let i = 0; i < 6; i++) second.push(await whoAnswers(proxy.port, "127.0.40.2"));
    assert.deepEqual(second.map((id) => id !== ""), [true, true, true, true, true, false], "burst 5: the sixth connection is refused");
  });
});

/** Starts a proxy on `db` with `file` watched every second; returns it and a log filter. */
async function watchedProxy(db: RoutingDb, file: string) {
  const proxy = await startProxy({ EDGEPROXY_DB_PATH: db.path, EDGEPROXY_CONFIG_FILE: file, EDGEPROXY_CONFIG_WATCH_ENABLED: "true", EDGEPROXY_CONFIG_WATCH_INTERVAL_SECS: "1" });
  const logs = (msg: string, backend: string) => proxy.logs.filter((l) => l.msg === msg && l.backend === backend);
  const untilLog = async (msg: string, backend: string): Promise<Record<string, unknown>> => {
    for (let i = 0; i < 150 && logs(msg, backend).length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(logs(msg, backend).length > 0, `"${msg}" for ${backend} not logged within 15 s`);
    return logs(msg, backend)[0]!;
  };
  return { proxy, logs, untilLog };
}

// The health checker reads its settings at the start of every round.
describe("config file hot reload: health-check parameters", () => {
  let live: TestBackend;
  let db: RoutingDb;
  let run: Awaited<ReturnType<typeof watchedProxy>>;
  let file: string;
  const config = (health: string) =>
    `[health_check]\nenabled = true\ninterval_secs = 1\ntimeout_secs = 1\nhealthy_threshold = 1\nunhealthy_threshold = 1\n${health}\n`;

  before(async () => {
    live = await startBackend("live");
    db = await createRoutingDb([{ id: "live", region: "sa", port: live.port }]);
    file = join(db.dir, "edgeproxy.toml");
    writeFileSync(file, config('type = "tcp"'));
    run = await watchedProxy(db, file);
  });
  after(async () => {
    assert.equal(await run?.proxy.stop(), 0);
    await live?.close();
    db?.close();
  });

  test("a check type edit (tcp → http → tcp) applies live; an open connection keeps flowing", async () => {
    const { proxy, logs, untilLog } = run;
    const open = await holdConnection(proxy.port, "127.0.50.1");
    assert.equal(open.id, "live");
    // A probe's verdict is logged before the next round probes again: once two tcp probes reached the
    // backend (every connection but ours is one), the first one's verdict is in the log.
    for (let i = 0; i < 500 && live.accepted - 1 < 2; i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(live.accepted - 1 >= 2, `two probes within 10 s (${live.accepted - 1})`);
    assert.equal(logs("backend unhealthy (health check)", "live").length, 0, "the echo backend accepts TCP: up under the tcp check");

    const reloaded = nextReload(proxy);
    writeFileSync(file, config('type = "http"\npath = "/health"'));
    assert.equal(((await reloaded).health_check as { type: string }).type, "http");
    // The echo backend greets with its id, which is no HTTP answer: the http check fails it.
    const down = await untilLog("backend unhealthy (health check)", "live");
    assert.doesNotMatch(String(down.error), /ECONNREFUSED|timeout/);
    assert.equal(await whoAnswers(proxy.port, "127.0.50.2"), "", "down: no backend for a new client");

    const back = nextReload(proxy);
    writeFileSync(file, config('type = "tcp"'));
    await back;
    await untilLog("backend healthy again (health check)", "live");
    assert.equal(await whoAnswers(proxy.port, "127.0.50.3"), "live");
    const echo = new Promise<string>((resolve) => open.socket.once("data", (d) => resolve(String(d))));
    open.socket.write("still here\n");
    assert.equal(await echo, "still here\n", "the connection opened before both reloads still flows");
    open.socket.destroy();
  });
});

// The circuit breaker reads its settings on every connect result.
describe("config file hot reload: circuit thresholds", () => {
  let live: TestBackend;
  let db: RoutingDb;
  let run: Awaited<ReturnType<typeof watchedProxy>>;
  let file: string;
  const config = (failureThreshold: number) => `[circuit_breaker]\nenabled = true\nfailure_threshold = ${failureThreshold}\ntimeout_secs = 3600\n`;

  before(async () => {
    live = await startBackend("live");
    // "dead" refuses every connect; its weight makes it every client's first choice while it is closed.
    db = await createRoutingDb([
      { id: "live", region: "sa", port: live.port },
      { id: "dead", region: "sa", port: await refusedPort(), weight: 1000 },
    ]);
    file = join(db.dir, "edgeproxy.toml");
    writeFileSync(file, config(1000));
    run = await watchedProxy(db, file);
  });
  after(async () => {
    assert.equal(await run?.proxy.stop(), 0);
    await live?.close();
    db?.close();
  });

  test("failure_threshold 1000 → 2 opens the dead backend's circuit on its next failures", async () => {
    const { proxy, logs, untilLog } = run;
    const failures = () => proxy.logs.filter((l) => l.msg === "backend connect failed" && l.backend === "dead").length;
    for (let i = 1; i <= 3; i++) assert.equal(await whoAnswers(proxy.port, `127.0.52.${i}`), "live", "failed over from dead");
    assert.ok(failures() >= 3, `dead was tried first: ${failures()} failures`);
    assert.equal(logs("circuit opened", "dead").length, 0, "threshold 1000: still closed");

    const reloaded = nextReload(proxy);
    writeFileSync(file, config(2));
    await reloaded;
    for (let i = 4; i <= 5; i++) assert.equal(await whoAnswers(proxy.port, `127.0.52.${i}`), "live");
    const opened = await untilLog("circuit opened", "dead");
    assert.equal(opened.failureThreshold, 2);
    const before = failures();
    for (let i = 6; i <= 8; i++) assert.equal(await whoAnswers(proxy.port, `127.0.52.${i}`), "live");
    assert.equal(failures(), before, "open circuit: dead is no longer tried");
  });
});

test("an invalid config file at startup stops the proxy naming the file and the key", async () => {
  const db = await createRoutingDb();
  try {
    const file = join(db.dir, "bad.toml");
    writeFileSync(file, "[circuit_breaker]\nfailure_threshold = \"many\"\n");
    const { code, stderr } = await runToExit({ EDGEPROXY_DB_PATH: db.path, EDGEPROXY_CONFIG_FILE: file });
    assert.equal(code, 1);
    assert.match(stderr, /EDGEPROXY_CONFIG_FILE: config file .*bad\.toml: circuit_breaker\.failure_threshold: expected an integer from 1 to \d+, got "many"/);
    const missing = await runToExit({ EDGEPROXY_DB_PATH: db.path, EDGEPROXY_CONFIG_FILE: join(db.dir, "absent.toml") });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /EDGEPROXY_CONFIG_FILE: config file .*absent\.toml: cannot read/);
  } finally {
    db.close();
  }
});

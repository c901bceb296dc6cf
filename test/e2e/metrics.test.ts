// /metrics of the real proxy process: scraped after real traffic, checked with promtool; per-backend
// series follow the routing table; the metrics listener is off by default.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { startBackend, refusedPort, whoAnswers, type TestBackend } from "../fixtures/backends.ts";
import { createRoutingDb, type RoutingDb } from "../fixtures/routing-db.ts";
import { startProxy, runToExit, type ProxyProcess } from "../fixtures/proxy-process.ts";
import { promtoolProblems, sample } from "../fixtures/promtool.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The metrics listener's base URL, from its start log line. */
async function metricsBase(proxy: ProxyProcess): Promise<string> {
  const line = await proxy.waitForLog("edgeProxy metrics listening");
  return `http://${String(line.addr)}`;
}

/** Scrapes until `ok` holds for the exposition (counters of closing connections land a moment later). */
async function scrapeUntil(url: string, ok: (text: string) => boolean, what: string): Promise<string> {
  let text = "";
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; await sleep(50)) {
    const res = await fetch(url);
    assert.equal(res.status, 200);
    text = await res.text();
    if (ok(text)) return text;
  }
  assert.fail(`${what} not seen within 10 s; last scrape:\n${text}`);
}

/** Sends `payload` through the proxy and reads greeting + echo back. */
function exchange(port: number, payload: string, localAddress: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: "127.0.0.1", localAddress });
    let got = "";
    socket.setEncoding("utf8");
    socket.on("connect", () => socket.write(payload));
    socket.on("data", (d: string) => { got += d; if (got.endsWith(payload)) socket.end(); });
    socket.on("close", () => resolve(got));
    socket.on("error", reject);
  });
}

describe("metrics of a running proxy", () => {
  let a: TestBackend;
  let db: RoutingDb;
  let proxy: ProxyProcess;
  let base: string;

  before(async () => {
    a = await startBackend("a");
    // "dead" refuses connections; its weight makes it the first choice of every new client.
    db = await createRoutingDb([
      { id: "a", region: "sa", port: a.port },
      { id: "dead", region: "sa", port: await refusedPort(), weight: 1000 },
    ]);
    proxy = await startProxy({
      EDGEPROXY_DB_PATH: db.path, EDGEPROXY_DB_RELOAD_SECS: "1",
      EDGEPROXY_METRICS_ENABLED: "true", EDGEPROXY_METRICS_LISTEN_ADDR: "127.0.0.1:0", EDGEPROXY_METRICS_PATH: "/prom",
    });
    base = await metricsBase(proxy);
  });
  after(async () => {
    const code = await proxy?.stop();
    db?.close();
    await a?.close();
    assert.equal(code, 0);
  });

  test("traffic shows up in every DESIGN.md metric and the exposition passes promtool", async () => {
    const clients = ["127.0.0.2", "127.0.0.3", "127.0.0.4"];
    for (const ip of clients) assert.equal(await exchange(proxy.port, "ping\n", ip), "a\nping\n");
    assert.equal(await whoAnswers(proxy.port, "127.0.0.2"), "a", "sticky client");
    const A = '{backend="a",region="sa"}';
    const DEAD = '{backend="dead",region="sa"}';
    const text = await scrapeUntil(`${base}/prom`, (t) =>
      sample(t, "edgeproxy_connections_active") === 0 && (sample(t, "edgeproxy_bytes_received_total") ?? 0) >= 15, "all four connections closed");
    assert.equal(sample(text, "edgeproxy_connections_total"), 4);
    assert.equal(sample(text, "edgeproxy_bytes_received_total"), 15, "3 × 'ping\\n' from clients");
    assert.equal(sample(text, "edgeproxy_bytes_sent_total"), 3 * 7 + 2, "greetings and echoes to clients");
    assert.equal(sample(text, `edgeproxy_backend_connections_total${A}`), 4);
    assert.equal(sample(text, `edgeproxy_backend_connections_active${A}`), 0);
    assert.equal(sample(text, `edgeproxy_backend_rtt_seconds_count${A}`), 4);
    assert.ok(sample(text, `edgeproxy_backend_rtt_seconds_sum${A}`)! > 0);
    assert.equal(sample(text, `edgeproxy_backend_errors_total${A}`), 0);
    assert.ok(sample(text, `edgeproxy_backend_errors_total${DEAD}`)! >= 1, "the refusing backend was tried and counted");
    assert.equal(sample(text, "edgeproxy_connect_failures_total"), sample(text, `edgeproxy_backend_errors_total${DEAD}`));
    assert.ok(sample(text, "edgeproxy_decision_duration_seconds_count")! >= 4);
    assert.equal(sample(text, `edgeproxy_backend_healthy${A}`), 1);
    assert.equal(sample(text, "edgeproxy_backends_routable"), 2);
    assert.equal(sample(text, "edgeproxy_routing_store_up"), 1);
    assert.equal(sample(text, "edgeproxy_draining"), 0);
    assert.match(text, /^process_resident_memory_bytes \d/m);
    assert.equal(promtoolProblems(text), "");
  });

  test("a backend removed from the routing store loses its series", async () => {
    db.exec("DELETE FROM backends WHERE id = ?", "dead");
    const text = await scrapeUntil(`${base}/prom`, (t) => !t.includes('backend="dead"'), "series of the removed backend gone");
    assert.match(text, /backend="a"/);
    assert.equal(promtoolProblems(text), "");
  });

  test("/health on the metrics listener", async () => {
    const res = await fetch(`${base}/health`);
    assert.equal(res.status, 200);
    const body = await res.json() as { status: string; backends: number };
    assert.equal(body.status, "ok");
  });
});

test("metrics are off by default: no metrics listener", async () => {
  const db = await createRoutingDb();
  const proxy = await startProxy({ EDGEPROXY_DB_PATH: db.path });
  try {
    assert.ok(!proxy.logs.some((l) => String(l.msg).includes("metrics listening")));
  } finally {
    assert.equal(await proxy.stop(), 0);
    db.close();
  }
});

test("a metrics address in use stops startup naming EDGEPROXY_METRICS_LISTEN_ADDR", async () => {
  const db = await createRoutingDb();
  const taken = net.createServer();
  await new Promise<void>((r) => taken.listen(0, "127.0.0.1", () => r()));
  const port = (taken.address() as net.AddressInfo).port;
  try {
    const { code, stderr } = await runToExit({ EDGEPROXY_DB_PATH: db.path, EDGEPROXY_METRICS_ENABLED: "true", EDGEPROXY_METRICS_LISTEN_ADDR: `127.0.0.1:${port}` });
    assert.equal(code, 1, stderr);
    assert.match(stderr, new RegExp(`EDGEPROXY_METRICS_LISTEN_ADDR: cannot listen on 127\\.0\\.0\\.1:${port}`));
  } finally {
    taken.close();
    db.close();
  }
});

test("an invalid metrics path stops startup with exit 2", async () => {
  const { code, stderr } = await runToExit({ EDGEPROXY_DB_PATH: "/nonexistent/never.db", EDGEPROXY_METRICS_PATH: "metrics" });
  assert.equal(code, 2, stderr);
  assert.match(stderr, /EDGEPROXY_METRICS_PATH: expected a URL path/);
});

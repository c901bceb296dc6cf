// /metrics of the real proxy process with rate limiting, circuit breakers and active health checks all
// on, so their series carry values: the exposition passes promtool with a refused client, an open
// circuit (and its transition) and a probed-down backend in it.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startBackend, refusedPort, whoAnswers, type TestBackend } from "../fixtures/backends.ts";
import { createRoutingDb, type RoutingDb } from "../fixtures/routing-db.ts";
import { startProxy, type ProxyProcess } from "../fixtures/proxy-process.ts";
import { promtoolProblems, sample } from "../fixtures/promtool.ts";

let a: TestBackend;
let db: RoutingDb;
let proxy: ProxyProcess;
let base: string;

/** The backend's greeting, or "" when the proxy closed (or reset) the connection without one. */
const answer = (port: number, ip: string) => whoAnswers(port, ip).catch(() => "");

before(async () => {
  a = await startBackend("a");
  // "dead" refuses connections; its weight makes it the first choice of nearly every new client.
  db = await createRoutingDb([
    { id: "a", region: "sa", port: a.port },
    { id: "dead", region: "sa", port: await refusedPort(), weight: 1000 },
  ]);
  proxy = await startProxy({
    EDGEPROXY_DB_PATH: db.path,
    EDGEPROXY_METRICS_ENABLED: "true", EDGEPROXY_METRICS_LISTEN_ADDR: "127.0.0.1:0",
    EDGEPROXY_RATE_LIMIT_ENABLED: "true", EDGEPROXY_RATE_LIMIT_BURST: "2",
    EDGEPROXY_RATE_LIMIT_MAX_REQUESTS: "1", EDGEPROXY_RATE_LIMIT_WINDOW_SECS: "3600", // no refill during the test
    EDGEPROXY_CIRCUIT_BREAKER_ENABLED: "true", EDGEPROXY_CIRCUIT_FAILURE_THRESHOLD: "2", EDGEPROXY_CIRCUIT_TIMEOUT_SECS: "3600",
    // Slow enough that the circuit opens from client traffic before the probes take "dead" out.
    EDGEPROXY_HEALTH_CHECK_ENABLED: "true", EDGEPROXY_HEALTH_CHECK_INTERVAL_SECS: "2", EDGEPROXY_HEALTH_UNHEALTHY_THRESHOLD: "3",
  });
  base = `http://${String((await proxy.waitForLog("edgeProxy metrics listening")).addr)}`;
});
after(async () => {
  const code = await proxy?.stop();
  db?.close();
  await a?.close();
  assert.equal(code, 0);
});

test("rate-limited clients, an open circuit with its transition and a probed-down backend are exported and pass promtool", async () => {
  // Distinct clients fail over from "dead" to "a" until its circuit opens.
  for (let i = 1; i <= 20 && !proxy.logs.some((l) => l.msg === "circuit opened"); i++) {
    assert.equal(await answer(proxy.port, `127.0.84.${i}`), "a");
  }
  assert.ok(proxy.logs.some((l) => l.msg === "circuit opened" && l.backend === "dead"), "the circuit of dead opened");
  // One client over its burst of 2.
  const burst = [];
  for (let i = 0; i < 4; i++) burst.push(await answer(proxy.port, "127.0.85.1"));
  assert.deepEqual(burst, ["a", "a", "", ""]);
  await proxy.waitForLog("backend unhealthy (health check)");

  const DEAD = '{backend="dead",region="sa"}';
  const A = '{backend="a",region="sa"}';
  let text = "";
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 50))) {
    text = await (await fetch(`${base}/metrics`)).text();
    if (sample(text, "edgeproxy_connections_active") === 0) break;
  }
  assert.equal(sample(text, "edgeproxy_rate_limited_connections_total"), 2);
  assert.equal(sample(text, `edgeproxy_backend_circuit_state${DEAD}`), 1, "open");
  assert.equal(sample(text, `edgeproxy_backend_circuit_state${A}`), 0);
  assert.equal(sample(text, 'edgeproxy_circuit_transitions_total{backend="dead",region="sa",to="open"}'), 1);
  assert.equal(sample(text, `edgeproxy_backend_errors_total${DEAD}`), 2, "failure_threshold connects, then none");
  assert.equal(sample(text, "edgeproxy_connect_failures_total"), 2);
  assert.equal(sample(text, `edgeproxy_backend_healthy${DEAD}`), 0, "probed down");
  assert.equal(sample(text, `edgeproxy_backend_healthy${A}`), 1);
  assert.equal(sample(text, "edgeproxy_backends_routable"), 1, "the probed-down backend is not routable");
  assert.ok(sample(text, "edgeproxy_decision_duration_seconds_count")! >= 4);
  assert.match(text, /^process_cpu_seconds_total \d/m);
  assert.equal(promtoolProblems(text), "");
});

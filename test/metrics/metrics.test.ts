// The metrics registry over fake live state: every DESIGN.md metric with its type and labels, values
// read at scrape time, departed backends' series removed, optional sources, promtool-clean output.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Backend } from "../../src/core/types.ts";
import type { Splice } from "../../src/runtime/types.ts";
import { createProxyMetrics, type ProxyMetricsDeps } from "../../src/metrics/metrics.ts";
import type { ProxyCounters } from "../../src/proxy/handle-client.ts";
import type { CircuitState } from "../../src/core/circuit.ts";
import { promtoolProblems, sample } from "../fixtures/promtool.ts";
import { runtime } from "../fixtures/runtime.ts";

function backend(id: string, region: string, healthy = true): Backend {
  return { id, app: "t", region, country: null, host: "127.0.0.1", port: 1, healthy, weight: 1, softLimit: 10, hardLimit: 20, version: 1 };
}

function fixture(extra: Partial<ProxyMetricsDeps> = {}) {
  const slots: (Backend | null)[] = [backend("a", "sa"), backend("b", "eu", false), null, null];
  const active = [3, 0, 0, 0];
  const counters: ProxyCounters = { accepted: 7, active: 2, noBackend: 1, connectFailures: 4, bytesFromClients: 100, bytesToClients: 1000, rateLimited: 0 };
  const inFlight = new Set<Splice>();
  let draining = false;
  const metrics = createProxyMetrics({
    runtime,
    table: { get size() { return slots.filter(Boolean).length; }, backendAt: (s) => slots[s] ?? null },
    capacity: slots.length,
    active: (s) => active[s]!,
    counters: () => counters,
    inFlight: () => inFlight,
    routableBackends: () => 1,
    draining: () => draining,
    ...extra,
  });
  return { slots, active, counters, inFlight, metrics, setDraining: (d: boolean) => { draining = d; } };
}

const A = '{backend="a",region="sa"}';
const B = '{backend="b",region="eu"}';

test("every DESIGN.md metric is exposed with its type", async () => {
  const { metrics } = fixture();
  const text = await metrics.render();
  for (const [name, type] of [
    ["edgeproxy_connections_total", "counter"], ["edgeproxy_connections_active", "gauge"],
    ["edgeproxy_bytes_sent_total", "counter"], ["edgeproxy_bytes_received_total", "counter"],
    ["edgeproxy_backend_connections_total", "counter"], ["edgeproxy_backend_connections_active", "gauge"],
    ["edgeproxy_backend_errors_total", "counter"], ["edgeproxy_backend_rtt_seconds", "histogram"],
    ["edgeproxy_rate_limited_connections_total", "counter"], ["edgeproxy_backend_circuit_state", "gauge"],
    ["edgeproxy_backend_healthy", "gauge"], ["edgeproxy_connect_failures_total", "counter"],
    ["edgeproxy_decision_duration_seconds", "histogram"], ["edgeproxy_draining", "gauge"],
    ["edgeproxy_circuit_transitions_total", "counter"],
    ["process_cpu_seconds_total", "counter"], ["process_resident_memory_bytes", "gauge"],
  ]) {
    assert.match(text, new RegExp(`^# TYPE ${name} ${type}$`, "m"), name);
  }
  assert.equal(promtoolProblems(text), "");
});

test("values come from the handler's counters and the live table at scrape time", async () => {
  const f = fixture();
  let text = await f.metrics.render();
  assert.equal(sample(text, "edgeproxy_connections_total"), 7);
  assert.equal(sample(text, "edgeproxy_connections_active"), 2);
  assert.equal(sample(text, "edgeproxy_bytes_received_total"), 100);
  assert.equal(sample(text, "edgeproxy_bytes_sent_total"), 1000);
  assert.equal(sample(text, "edgeproxy_connect_failures_total"), 4);
  assert.equal(sample(text, "edgeproxy_no_backend_total"), 1);
  assert.equal(sample(text, `edgeproxy_backend_connections_active${A}`), 3);
  assert.equal(sample(text, `edgeproxy_backend_connections_active${B}`), 0);
  assert.equal(sample(text, `edgeproxy_backend_healthy${A}`), 1);
  assert.equal(sample(text, `edgeproxy_backend_healthy${B}`), 0);
  assert.equal(sample(text, `edgeproxy_backend_circuit_state${A}`), 0, "no circuit breaker: closed");
  assert.equal(sample(text, "edgeproxy_rate_limited_connections_total"), 0, "no rate limiter: nothing limited");
  assert.equal(sample(text, "edgeproxy_draining"), 0);

  f.counters.accepted = 9;
  f.active[0] = 1;
  f.setDraining(true);
  text = await f.metrics.render();
  assert.equal(sample(text, "edgeproxy_connections_total"), 9);
  assert.equal(sample(text, `edgeproxy_backend_connections_active${A}`), 1);
  assert.equal(sample(text, "edgeproxy_draining"), 1);
});

test("bytes of open connections count before they close", async () => {
  const f = fixture();
  f.inFlight.add({ done: new Promise(() => {}), abort() {}, bytesFromClient: 5, bytesToClient: 50 });
  const text = await f.metrics.render();
  assert.equal(sample(text, "edgeproxy_bytes_received_total"), 105);
  assert.equal(sample(text, "edgeproxy_bytes_sent_total"), 1050);
});

test("the observer feeds per-backend counters and the two histograms", async () => {
  const f = fixture();
  const [a, b] = [f.slots[0]!, f.slots[1]!];
  f.metrics.observer.connected(a, 0.002);
  f.metrics.observer.connected(a, 0.004);
  f.metrics.observer.connected(a, null); // a pooled socket: counted, but no connect time
  f.metrics.observer.connectFailed(b);
  f.metrics.observer.decided(0.00002);
  const text = await f.metrics.render();
  assert.equal(sample(text, `edgeproxy_backend_connections_total${A}`), 3);
  assert.equal(sample(text, `edgeproxy_backend_connections_total${B}`), 0);
  assert.equal(sample(text, `edgeproxy_backend_errors_total${B}`), 1);
  assert.equal(sample(text, `edgeproxy_backend_rtt_seconds_count${A}`), 2);
  assert.ok(Math.abs(sample(text, `edgeproxy_backend_rtt_seconds_sum${A}`)! - 0.006) < 1e-9);
  assert.equal(sample(text, 'edgeproxy_backend_rtt_seconds_bucket{le="0.0025",backend="a",region="sa"}'), 1);
  assert.equal(sample(text, "edgeproxy_decision_duration_seconds_count"), 1);
  assert.equal(promtoolProblems(text), "");
});

test("a backend that left the table loses every series; one that moved region is relabelled", async () => {
  const f = fixture();
  f.metrics.observer.connected(f.slots[0]!, 0.001);
  f.metrics.observer.connected(f.slots[1]!, 0.001);
  f.slots[0] = null; // "a" removed
  f.slots[1] = backend("b", "us", false); // "b" moved to us
  const text = await f.metrics.render();
  assert.doesNotMatch(text, /backend="a"/);
  assert.doesNotMatch(text, /region="eu"/);
  assert.equal(sample(text, 'edgeproxy_backend_connections_total{backend="b",region="us"}'), 0, "counts restart with the new labels");
  assert.equal(promtoolProblems(text), "");
});

test("optional sources are read at scrape time", async () => {
  let limited = 0;
  const circuit: CircuitState[] = [1, 2];
  const f = fixture({ sources: { rateLimited: () => limited, circuitState: (s) => circuit[s]!, probeHealthy: (s) => s !== 0, storeUp: () => false } });
  limited = 12;
  const text = await f.metrics.render();
  assert.equal(sample(text, "edgeproxy_rate_limited_connections_total"), 12);
  assert.equal(sample(text, `edgeproxy_backend_circuit_state${A}`), 1);
  assert.equal(sample(text, `edgeproxy_backend_circuit_state${B}`), 2);
  assert.equal(sample(text, `edgeproxy_backend_healthy${A}`), 0, "store says healthy, the probe says not");
  assert.equal(sample(text, "edgeproxy_routing_store_up"), 0);
});

test("circuit transitions: one counter series per backend and state moved to, none for a backend without any", async () => {
  const transitions = new Map<string, number[]>([["a", [1, 2, 1]], ["gone", [0, 5, 0]]]);
  const f = fixture({ sources: { circuitTransitions: (id) => transitions.get(id) } });
  let text = await f.metrics.render();
  assert.equal(sample(text, 'edgeproxy_circuit_transitions_total{backend="a",region="sa",to="closed"}'), 1);
  assert.equal(sample(text, 'edgeproxy_circuit_transitions_total{backend="a",region="sa",to="open"}'), 2);
  assert.equal(sample(text, 'edgeproxy_circuit_transitions_total{backend="a",region="sa",to="half-open"}'), 1);
  assert.doesNotMatch(text, /edgeproxy_circuit_transitions_total\{backend="(b|gone)"/, "b never moved; gone is not in the table");
  assert.equal(promtoolProblems(text), "");
  transitions.set("b", [0, 1, 0]);
  text = await f.metrics.render();
  assert.equal(sample(text, 'edgeproxy_circuit_transitions_total{backend="b",region="eu",to="open"}'), 1, "read at scrape time");
  assert.doesNotMatch(text, /backend="b",region="eu",to="closed"/, "zero counts are not exported");
});

test("process metrics: heap-space collector skipped on Bun only, no _total gauges", async () => {
  const text = await fixture().metrics.render();
  assert.equal(/^nodejs_heap_space_size_used_bytes/m.test(text), runtime !== "bun");
  assert.doesNotMatch(text, /^# TYPE nodejs_active_\w+_total gauge/m);
});

// Metrics disabled means no work on the data path: no observer, no registry, no listener.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Observability } from "../../src/metrics/observability.ts";
import { silentLogger } from "../../src/lifecycle/log.ts";
import { ReferenceEngine } from "../../src/core/reference-engine.ts";
import { RouteTable } from "../../src/core/route-table.ts";
import { createWasmEngine } from "../../src/engine/wasm-engine.ts";
import { runtime } from "../fixtures/runtime.ts";
import type { Backend } from "../../src/core/types.ts";

function observability(enabled: boolean) {
  return new Observability({
    metrics: { enabled, listen: { host: "127.0.0.1", port: 0 }, path: "/metrics" },
    runtime,
    table: { size: 0, backendAt: () => null },
    engine: { capacity: 4, active: () => 0, isRoutable: () => true },
    traffic: () => { throw new Error("the traffic is not read when metrics are disabled"); },
    now: () => 0,
    log: silentLogger,
  });
}

test("disabled: no observer, no registry, start() opens nothing", async () => {
  const o = observability(false);
  assert.equal(o.observer, undefined);
  assert.equal(o.metrics, null);
  assert.equal(await o.start(), null);
  await o.close();
});

test("enabled: an observer and a listener on the configured address; health follows the drain state", async () => {
  const o = new Observability({
    ...{ metrics: { enabled: true, listen: { host: "127.0.0.1", port: 0 }, path: "/m" }, runtime, log: silentLogger, now: () => 0 },
    table: { size: 0, backendAt: () => null },
    engine: { capacity: 4, active: () => 0, isRoutable: () => true },
    traffic: () => ({ counters: { accepted: 1, active: 0, noBackend: 0, connectFailures: 0, rateLimited: 0, bytesFromClients: 0, bytesToClients: 0 }, inFlight: new Set() }),
  });
  assert.ok(o.observer);
  const server = await o.start();
  try {
    const base = `http://127.0.0.1:${server!.address.port}`;
    assert.match(await (await fetch(`${base}/m`)).text(), /^edgeproxy_connections_total 1$/m);
    assert.equal(o.status(), "ok");
    o.drain.begin();
    assert.equal(o.status(), "draining");
    assert.equal((await fetch(`${base}/health`)).status, 503);
  } finally {
    await o.close();
  }
});

test("routable backends leave out a backend the engine does not route (probe down, circuit open), on /health and the gauge", async () => {
  const backend = (id: string, healthy: boolean) => ({ id, app: "t", region: "sa", country: null, host: "127.0.0.1", port: 1, healthy, weight: 1, softLimit: 10, hardLimit: 20, version: 1 });
  const slots = [backend("a", true), backend("b", true), backend("c", false)];
  const o = new Observability({
    ...{ metrics: { enabled: true, listen: { host: "127.0.0.1", port: 0 }, path: "/metrics" }, runtime, log: silentLogger, now: () => 0 },
    table: { size: 3, backendAt: (s) => slots[s] ?? null },
    engine: { capacity: 4, active: () => 0, isRoutable: (slot) => slots[slot]?.healthy === true && slot !== 1 },
    traffic: () => ({ counters: { accepted: 0, active: 0, noBackend: 0, connectFailures: 0, rateLimited: 0, bytesFromClients: 0, bytesToClients: 0 }, inFlight: new Set() }),
  });
  const server = await o.start();
  try {
    const base = `http://127.0.0.1:${server!.address.port}`;
    assert.match(await (await fetch(`${base}/metrics`)).text(), /^edgeproxy_backends_routable 1$/m, "b is not routable, c is unhealthy in the store");
    assert.equal(((await (await fetch(`${base}/health`)).json()) as { backends: number }).backends, 1);
  } finally {
    await o.close();
  }
});

test("routable (GET /health, edgeproxy_backends_routable) = store healthy AND probe up AND circuit not open, as the engine's flags say", () => {
  const backend = (id: string, healthy: boolean): Backend => ({ id, app: "", region: "sa", country: null, host: "h", port: 1, healthy, weight: 1, softLimit: 1, hardLimit: 1, version: 1 });
  const slots = [backend("ok", true), backend("disabled", false), backend("probe-down", true), backend("open", true), backend("half-open", true)];
  for (const engine of [new ReferenceEngine(8), createWasmEngine(8)]) {
    const table = new RouteTable(engine, "sa");
    table.apply({ generation: "1", backends: slots });
    const slot = (id: string) => table.slotOf(id)!;
    engine.setProbeDown(slot("probe-down"), true);
    engine.circuitFailure(slot("open"), 0, 1);
    engine.circuitFailure(slot("half-open"), 0, 1);
    assert.equal(engine.advanceCircuit(slot("half-open"), 10_000, 5000), slot("half-open"));
    engine.acquire(slot("ok")); // at its hard limit (1): no candidate, still routable
    const o = new Observability({
      metrics: { enabled: false, listen: { host: "127.0.0.1", port: 0 }, path: "/metrics" }, runtime, log: silentLogger, now: () => 0,
      table, engine,
      traffic: () => { throw new Error("not read"); },
    });
    assert.equal(o.health.routableBackends(), 2, "ok and half-open (it admits probes)");
  }
});

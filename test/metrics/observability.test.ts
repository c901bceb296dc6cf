// Metrics disabled means no work on the data path: no observer, no registry, no listener.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Observability } from "../../src/metrics/observability.ts";
import { silentLogger } from "../../src/lifecycle/log.ts";
import type { ClientHandler } from "../../src/proxy/handle-client.ts";
import { runtime } from "../fixtures/runtime.ts";
import type { Backend } from "../../src/core/types.ts";

function observability(enabled: boolean) {
  return new Observability({
    metrics: { enabled, listen: { host: "127.0.0.1", port: 0 }, path: "/metrics" },
    runtime,
    table: { size: 0, backendAt: () => null },
    engine: { capacity: 4, active: () => 0 },
    handler: () => { throw new Error("the handler is not read when metrics are disabled"); },
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
    engine: { capacity: 4, active: () => 0 },
    handler: () => ({ counters: { accepted: 1, active: 0, noBackend: 0, connectFailures: 0, bytesFromClients: 0, bytesToClients: 0 }, inFlight: new Set() }) as unknown as ClientHandler,
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

test("routable backends leave out a backend whose active health check is down, on /health and the gauge", async () => {
  const backend = (id: string, healthy: boolean) => ({ id, app: "t", region: "sa", country: null, host: "127.0.0.1", port: 1, healthy, weight: 1, softLimit: 10, hardLimit: 20, version: 1 });
  const slots = [backend("a", true), backend("b", true), backend("c", false)];
  const o = new Observability({
    ...{ metrics: { enabled: true, listen: { host: "127.0.0.1", port: 0 }, path: "/metrics" }, runtime, log: silentLogger, now: () => 0 },
    table: { size: 3, backendAt: (s) => slots[s] ?? null },
    engine: { capacity: 4, active: () => 0 },
    handler: () => ({ counters: { accepted: 0, active: 0, noBackend: 0, connectFailures: 0, bytesFromClients: 0, bytesToClients: 0 }, inFlight: new Set() }) as unknown as ClientHandler,
    sources: { probeHealthy: (slot) => slot !== 1 },
  });
  const server = await o.start();
  try {
    const base = `http://127.0.0.1:${server!.address.port}`;
    assert.match(await (await fetch(`${base}/metrics`)).text(), /^edgeproxy_backends_routable 1$/m, "b is probed down, c is unhealthy in the store");
    assert.equal(((await (await fetch(`${base}/health`)).json()) as { backends: number }).backends, 1);
  } finally {
    await o.close();
  }
});

test("routable backends (GET /health, edgeproxy_backends_routable) = store healthy AND probe up AND circuit not open", () => {
  const backend = (id: string, healthy: boolean): Backend => ({ id, app: "", region: "sa", country: null, host: "h", port: 1, healthy, weight: 1, softLimit: 1, hardLimit: 1, version: 1 });
  const slots = [backend("ok", true), backend("disabled", false), backend("probe-down", true), backend("open", true), backend("half-open", true)];
  const o = new Observability({
    metrics: { enabled: false, listen: { host: "127.0.0.1", port: 0 }, path: "/metrics" }, runtime, log: silentLogger, now: () => 0,
    table: { size: slots.length, backendAt: (slot) => slots[slot] ?? null },
    engine: { capacity: 8, active: () => 0 },
    handler: () => { throw new Error("not read"); },
    sources: { probeHealthy: (slot) => slots[slot]?.id !== "probe-down", circuitState: (slot) => (slots[slot]?.id === "open" ? 1 : slots[slot]?.id === "half-open" ? 2 : 0) },
  });
  assert.equal(o.health.routableBackends(), 2, "ok and half-open (it admits probes)");
});

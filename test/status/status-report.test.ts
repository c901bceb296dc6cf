// The status data (GET /status.json) built from StatusSources: every backend with its limits, live
// count, circuit and health check words; totals; replication off or plugged in.
import { test } from "node:test";
import assert from "node:assert/strict";
import { statusReport, REPLICATION_OFF } from "../../src/status/status-report.ts";
import { ConnectionRate } from "../../src/status/connection-rate.ts";
import type { CircuitStateCode } from "../../src/status/status-sources.ts";
import { backend, fakeSources } from "./status-fixture.ts";

test("every backend in the table, in slot order, with its row, limits and live count", () => {
  const sources = fakeSources([backend("a"), null, backend("b", { region: "eu", country: null, host: "fd00::7", port: 9000, weight: 5, softLimit: 1, hardLimit: 3 })], [4, 0, 3]);
  const r = statusReport(sources, new ConnectionRate());
  assert.deepEqual(r.backends, [
    { id: "a", app: "game", region: "sa", country: "BR", address: "10.0.0.1:7000", weight: 2, soft_limit: 10, hard_limit: 20, active: 4, healthy: true, circuit: "off", health_check: "off", routable: true, connections: null, errors: null },
    { id: "b", app: "game", region: "eu", country: null, address: "[fd00::7]:9000", weight: 5, soft_limit: 1, hard_limit: 3, active: 3, healthy: true, circuit: "off", health_check: "off", routable: false, connections: null, errors: null },
  ]);
  assert.equal(r.totals.backends, 2);
  assert.equal(r.totals.routable, 2, "at its hard limit is load, not health: still counted as /health counts it");
});

test("circuit and health check words; what is not routable", () => {
  const circuits: CircuitStateCode[] = [0, 1, 2, 0, 0];
  const probes: Record<string, "up" | "down" | null> = { closed: "up", open: "up", half: null, down: "down", off: "up" };
  const sources = fakeSources([backend("closed"), backend("open"), backend("half"), backend("down"), backend("off", { healthy: false })], [], {
    circuitState: (slot) => circuits[slot]!,
    probeState: (id) => probes[id] ?? null,
  });
  const r = statusReport(sources, new ConnectionRate());
  assert.deepEqual(r.backends.map((b) => [b.id, b.circuit, b.health_check, b.routable]), [
    ["closed", "closed", "up", true],
    ["open", "open", "up", false],
    ["half", "half-open", "pending", true],
    ["down", "closed", "down", false],
    ["off", "closed", "up", false],
  ]);
  assert.equal(r.totals.routable, 2);
});

test("a disabled circuit breaker shows as off", () => {
  const sources = fakeSources([backend("a")], [], { circuitState: () => 0, circuitsEnabled: () => false });
  assert.equal(statusReport(sources, new ConnectionRate()).backends[0]!.circuit, "off");
});

test("per-backend tallies when the metrics keep them (0 before the first connection)", () => {
  const sources = fakeSources([backend("a"), backend("b")], [], { backendTally: (id) => (id === "a" ? { connections: 7, errors: 2 } : undefined) });
  const r = statusReport(sources, new ConnectionRate());
  assert.deepEqual(r.backends.map((b) => [b.connections, b.errors]), [[7, 2], [0, 0]]);
});

test("pop and totals: uptime, draining, store, connections per second", () => {
  let accepted = 100;
  let draining = false;
  const sources = fakeSources([], [], {
    totals: () => ({ accepted, active: 3, bytesReceived: 10, bytesSent: 20, connectFailures: 1, noBackend: 2, rateLimited: 5 }),
    draining: () => draining,
    storeUp: () => false,
  });
  const rate = new ConnectionRate();
  const first = statusReport(sources, rate);
  assert.deepEqual(first.pop, { id: "pop-sa-1", region: "sa", runtime: "node", version: "1.2.3", uptime_secs: 60, status: "ok", store_up: false });
  assert.deepEqual(first.totals, {
    connections_total: 100, connections_per_sec: null, active: 3, bytes_received: 10, bytes_sent: 20,
    connect_failures: 1, no_backend: 2, rate_limited: 5, backends: 0, routable: 0,
  });
  sources.clock.now += 2_000;
  accepted += 50;
  draining = true;
  const second = statusReport(sources, rate);
  assert.equal(second.totals.connections_per_sec, 25);
  assert.equal(second.pop.status, "draining");
});

test("replication: off without a source, the source's state with one, an error as text", () => {
  assert.deepEqual(statusReport(fakeSources([]), new ConnectionRate()).cluster, REPLICATION_OFF);
  assert.deepEqual(REPLICATION_OFF, { replication: "off", pops: [] });
  const cluster = { replication: "connected", pops: [{ id: "pop-eu-1", region: "eu", state: "up", last_seen_secs_ago: 1 }], detail: { outbox: 0, lag_secs: 0, published: 0, applied: 0, conflicts: 0 } };
  assert.deepEqual(statusReport(fakeSources([], [], { cluster: () => cluster }), new ConnectionRate()).cluster, cluster);
  const broken = statusReport(fakeSources([], [], { cluster: () => { throw new Error("kv watcher stalled"); } }), new ConnectionRate()).cluster;
  assert.deepEqual(broken, { replication: "unknown", pops: [], detail: { error: "kv watcher stalled" } });
});

// Heartbeat TTL: registered backends are deregistered once their last heartbeat is older than the TTL;
// static (CLI) backends never are. Fake time throughout: the reaper takes `nowMs`, nothing sleeps.
import { test, describe, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { HeartbeatReaper, sweepIntervalMs } from "../../src/api/heartbeat-reaper.ts";
import { silentLogger } from "../../src/lifecycle/log.ts";
import { apiFixture, registration, T0, type ApiFixture } from "./api-fixture.ts";

const TTL = 10_000;

describe("heartbeat reaper", () => {
  let api: ApiFixture;
  let reaper: HeartbeatReaper;
  let expiredCalls: number;
  const routed = async () => (await api.store.readSnapshot()).snapshot.backends.map((b) => b.id).sort();

  beforeEach(async () => {
    api = apiFixture({ heartbeatTtlMs: TTL });
    expiredCalls = 0;
    reaper = new HeartbeatReaper(api.store, TTL, silentLogger, T0 - TTL, () => { expiredCalls++; });
    await api.request("/api/v1/register", { json: registration({ id: "api-1" }) });
    await api.request("/api/v1/register", { json: registration({ id: "api-2" }) });
    // Added as the CLI does it: static, no heartbeat.
    await api.store.upsertBackend({ id: "cli-1", region: "sa", host: "10.0.0.5", port: 1, lastHeartbeatMs: null });
  });
  afterEach(async () => {
    await reaper.settled();
    await api.close();
  });

  test("nothing expires before the TTL; at TTL + 1 ms the silent ones are soft-deleted", async () => {
    assert.deepEqual(await reaper.sweep(T0 + TTL), [], "exactly TTL old is still alive");
    assert.deepEqual(await reaper.sweep(T0 + TTL + 1), ["api-1", "api-2"]);
    assert.deepEqual(await routed(), ["cli-1"]);
    const row = await api.store.getBackend("api-1");
    assert.equal(row?.deleted, true, "deregistered = soft delete: the row is kept");
    assert.equal(expiredCalls, 1, "routing is told at once");
  });

  test("heartbeats keep a backend alive; only the silent one expires", async () => {
    api.clock.now = T0 + 8000;
    assert.equal((await api.request("/api/v1/heartbeat/api-1", { method: "POST" })).status, 200);
    assert.deepEqual(await reaper.sweep(T0 + 15_000), ["api-2"]);
    assert.deepEqual(await routed(), ["api-1", "cli-1"]);
    assert.deepEqual(await reaper.sweep(T0 + 18_001), ["api-1"]);
  });

  test("static (CLI) backends are never expired, however old", async () => {
    await reaper.sweep(T0 + 365 * 86_400_000);
    assert.deepEqual(await routed(), ["cli-1"]);
  });

  test("an expired backend's heartbeat is 404 until it registers again; then it routes again", async () => {
    await reaper.sweep(T0 + TTL + 1);
    api.clock.now = T0 + TTL + 2;
    assert.equal((await api.request("/api/v1/heartbeat/api-1", { method: "POST" })).status, 404);
    assert.equal((await api.request("/api/v1/register", { json: registration({ id: "api-1" }) })).status, 200);
    assert.deepEqual(await reaper.sweep(T0 + TTL + 3), []);
    assert.deepEqual(await routed(), ["api-1", "cli-1"]);
  });

  test("`node add` of a registered id makes it static (the CLI passes lastHeartbeatMs: null)", async () => {
    await api.store.upsertBackend({ id: "api-1", region: "eu", host: "10.0.0.1", port: 7000, lastHeartbeatMs: null });
    assert.deepEqual(await reaper.sweep(T0 + TTL + 1), ["api-2"]);
    assert.deepEqual(await routed(), ["api-1", "cli-1"]);
  });

  test("after a restart nothing expires until a full TTL has passed since the API started", async () => {
    const restarted = new HeartbeatReaper(api.store, TTL, silentLogger, T0 + 60_000);
    assert.deepEqual(await restarted.sweep(T0 + 60_000 + TTL - 1), [], "backends had no API to send heartbeats to");
    assert.deepEqual(await restarted.sweep(T0 + 60_000 + TTL), ["api-1", "api-2"]);
  });

  test("a store failure is logged once per outage and the sweep resolves empty", async () => {
    const errors: string[] = [];
    const log = { ...silentLogger, error: (msg: string) => { errors.push(msg); } };
    const failing = new HeartbeatReaper({ expireHeartbeats: () => Promise.reject(new Error("disk I/O error")) }, TTL, log, T0 - TTL);
    assert.deepEqual(await failing.sweep(T0 + TTL + 1), []);
    assert.deepEqual(await failing.sweep(T0 + TTL + 2), []);
    assert.deepEqual(errors, ["heartbeat sweep failed, retrying every sweep"]);
  });
});

test("expireHeartbeats is one conditional write: re-registered or fresh rows are never caught", async () => {
  const api = apiFixture({ heartbeatTtlMs: TTL });
  try {
    await api.request("/api/v1/register", { json: registration({ id: "a" }) });
    const before = await api.store.getBackend("a");
    assert.deepEqual(await api.store.expireHeartbeats(T0), [], "cutoff equal to the heartbeat: not older");
    assert.deepEqual(await api.store.expireHeartbeats(T0 + 1), ["a"]);
    assert.deepEqual(await api.store.expireHeartbeats(T0 + 1), [], "already deregistered");
    const after = await api.store.getBackend("a");
    assert.ok(after!.version > before!.version, "deregistration is a routing change (replicated, reloaded)");
  } finally {
    await api.close();
  }
});

test("re-registering with the same heartbeat time does not bump the version twice", async () => {
  const api = apiFixture();
  try {
    await api.request("/api/v1/register", { json: registration({ id: "a" }) });
    const v1 = (await api.store.getBackend("a"))!.version;
    await api.request("/api/v1/register", { json: registration({ id: "a" }) });
    assert.equal((await api.store.getBackend("a"))!.version, v1 + 1);
  } finally {
    await api.close();
  }
});

test("sweep interval: a quarter of the TTL, 250 ms to 5 s", () => {
  assert.equal(sweepIntervalMs(1000), 250);
  assert.equal(sweepIntervalMs(8000), 2000);
  assert.equal(sweepIntervalMs(60_000), 5000);
});

// The API's store handle when another process holds routing.db's write lock (the CLI, a sqlite3
// session): the request waits on timers, so the proxy's event loop (its data path) keeps running,
// and it succeeds once the lock is released, or answers 503 after its patience ran out. The retry
// pauses run on a fake clock: the lock is real, the waiting is moved by the test.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { createApi } from "../../src/api/create-api.ts";
import { openApiStore, retryWhenBusy } from "../../src/store/api-store.ts";
import type { RoutingStore } from "../../src/store/routing-store.ts";
import { openLibsqlStore } from "../../src/store/libsql-store.ts";
import { openSqlConnection } from "../../src/store/sql-connection.ts";
import { BackendInputError, isLockBusy, StoreError } from "../../src/store/store-errors.ts";
import { tempDir } from "../fixtures/routing-db.ts";
import { registration } from "./api-fixture.ts";
import { FakeClock } from "../fixtures/fake-clock.ts";

/** The retry pauses on `clock`: a locked store's request waits until the test moves time. */
const pausesOn = (clock: FakeClock) => (ms: number) => new Promise<void>((resolve) => { clock.after(ms, resolve); });

/** Moves `clock` in steps until `work` settled (each step lets one retry run). */
async function driven<T>(clock: FakeClock, work: Promise<T>, stepMs = 50): Promise<T> {
  let settled = false;
  void work.then(() => (settled = true), () => (settled = true));
  for (let steps = 0; !settled; steps++) {
    if (steps > 10_000) throw new Error("still waiting after 10,000 clock steps");
    await clock.advance(stepMs);
  }
  return work;
}

/** The longest gap between ticks of a 5 ms timer while `work` runs: how long the event loop was blocked. */
async function longestStall<T>(work: T | Promise<T>): Promise<{ result: T; stallMs: number }> {
  let last = Date.now(), stallMs = 0;
  const tick = setInterval(() => { const t = Date.now(); stallMs = Math.max(stallMs, t - last); last = t; }, 5);
  try {
    const result = await work;
    return { result, stallMs: Math.max(stallMs, Date.now() - last) };
  } finally {
    clearInterval(tick);
  }
}

function apiOver(store: RoutingStore) {
  return createApi({ store, now: Date.now, heartbeatTtlMs: 60_000, token: null, routableBackends: () => 0, startedAtMs: Date.now() });
}

const register = async (app: ReturnType<typeof createApi>, id: string): Promise<Response> =>
  await app.request("/api/v1/register", { method: "POST", body: JSON.stringify(registration({ id })) });

test("a locked routing.db: the request waits on timers, not in the driver, then succeeds once the lock is released", async () => {
  const tmp = tempDir("edgeproxy-api-lock-");
  const path = join(tmp.dir, "routing.db");
  const clock = new FakeClock();
  const store = openApiStore(path, { now: Date.now, sleep: pausesOn(clock) });
  const holder = openSqlConnection(path);
  try {
    const app = apiOver(store);
    holder.exec("BEGIN IMMEDIATE"); // another writer holds the lock, as `sqlite3 routing.db` with an open transaction would
    let settled = false;
    const { result: { request }, stallMs } = await longestStall((async () => {
      const request = register(app, "a").finally(() => { settled = true; });
      // Locked: every attempt ends in the driver at once and the request waits on a timer, so the event
      // loop (this test included) runs meanwhile. A second of retries, still locked, still waiting.
      for (let i = 0; i < 20 && !settled; i++) await clock.advance(50);
      return { request }; // wrapped: an async function returning the promise itself would wait for it
    })());
    assert.equal(settled, false, "the request gave up or went through while the store was locked");
    assert.ok(clock.pending > 0, "waiting on the clock");
    // A coarse guard, not a timing: the driver itself waits API_BUSY_WAIT_MS (10 ms) per attempt, so no
    // attempt comes near a second; a driver that waited for the lock would block for its busy timeout.
    assert.ok(stallMs < 1000, `an attempt blocked the event loop for ${stallMs} ms`);
    holder.exec("COMMIT");
    const res = await driven(clock, request);
    assert.equal(res.status, 201, await res.clone().text());
    assert.equal((await store.getBackend("a"))?.backend?.id, "a");
  } finally {
    holder.close();
    await store.close();
    tmp.remove();
  }
});

test("a lock held longer than the patience: 503 JSON with Retry-After, nothing written", async () => {
  const tmp = tempDir("edgeproxy-api-lock-");
  const path = join(tmp.dir, "routing.db");
  const clock = new FakeClock();
  const store = openApiStore(path, { now: Date.now, patienceMs: 200, sleep: pausesOn(clock) });
  const holder = openSqlConnection(path);
  try {
    holder.exec("BEGIN IMMEDIATE");
    const started = clock.now();
    const res = await driven(clock, register(apiOver(store), "a"), 10);
    holder.exec("COMMIT");
    assert.equal(res.status, 503);
    assert.ok(clock.now() - started >= 200, "gave up only once its patience was spent");
    assert.equal(res.headers.get("retry-after"), "1");
    assert.deepEqual(Object.keys(await res.json()).sort(), ["error", "field"]);
    assert.equal(await store.getBackend("a"), null);
  } finally {
    holder.close();
    await store.close();
    tmp.remove();
  }
});

test("retryWhenBusy: retries only busy errors, with growing pauses, within its patience", async () => {
  const tmp = tempDir("edgeproxy-api-lock-");
  const real = openLibsqlStore(join(tmp.dir, "routing.db"));
  try {
    const busy = new StoreError("routing store x: cannot write backend: database is locked (SQLITE_BUSY)", "SQLITE_BUSY");
    let failures = 3;
    const flaky: RoutingStore = { ...bind(real), upsertBackend: (input) => (failures-- > 0 ? Promise.reject(busy) : real.upsertBackend(input)) };
    const pauses: number[] = [];
    const sleepFake = async (ms: number) => { pauses.push(ms); };
    const store = retryWhenBusy(flaky, { patienceMs: 1000, sleep: sleepFake });
    assert.equal(await store.upsertBackend({ id: "a", region: "sa", host: "127.0.0.1", port: 1 }), false);
    assert.deepEqual(pauses, [5, 10, 20]);

    pauses.length = 0;
    failures = Infinity;
    await assert.rejects(retryWhenBusy(flaky, { patienceMs: 50, sleep: sleepFake }).upsertBackend({ id: "b", region: "sa", host: "127.0.0.1", port: 1 }), (e) => isLockBusy(e));
    assert.equal(pauses.reduce((a, b) => a + b, 0), 50, "gives up once the patience is spent");

    pauses.length = 0;
    const broken: RoutingStore = { ...bind(real), getBackend: () => Promise.reject(new StoreError("disk I/O error", "SQLITE_IOERR")) };
    await assert.rejects(retryWhenBusy(broken, { sleep: sleepFake }).getBackend("a"), /disk I\/O/);
    assert.deepEqual(pauses, [], "other failures are not retried");
  } finally {
    await real.close();
    tmp.remove();
  }
});

/** The store's methods as plain functions (spreading a class instance copies no methods). */
function bind(store: RoutingStore): RoutingStore {
  const out: Record<string, unknown> = {};
  for (const name of ["changeMarker", "readSnapshot", "upsertBackend", "setHealthy", "setWeight", "setLimits", "softDelete", "enable", "deleteBackend", "touchHeartbeat", "expireHeartbeats", "getBackend", "listBackends", "close"] as const) {
    out[name] = (store[name] as (...a: unknown[]) => unknown).bind(store);
  }
  return out as unknown as RoutingStore;
}

test("one rule tells a lock held elsewhere, for the driver's own errors and the store's alike", async () => {
  const dir = tempDir();
  const path = join(dir.dir, "routing.db");
  const holder = openSqlConnection(path);
  const other = openSqlConnection(path);
  const store = openLibsqlStore(path, { busyTimeoutMs: 0 });
  try {
    holder.exec("PRAGMA journal_mode = WAL");
    holder.exec("CREATE TABLE IF NOT EXISTS t (x)");
    holder.exec("BEGIN IMMEDIATE");
    let driverError: unknown = null;
    try {
      other.exec("BEGIN IMMEDIATE");
    } catch (err) {
      driverError = err;
    }
    assert.ok(isLockBusy(driverError), `the driver's error: ${String(driverError)}`);
    await assert.rejects(store.upsertBackend({ id: "b", region: "sa", host: "127.0.0.1", port: 1 }), (e) => e instanceof StoreError && isLockBusy(e));
    assert.ok(!isLockBusy(new StoreError("disk I/O error", "SQLITE_IOERR")));
    assert.ok(!isLockBusy(new BackendInputError("port", "port: expected 1..65535")));
    assert.ok(!isLockBusy(undefined));
  } finally {
    holder.exec("ROLLBACK");
    holder.close();
    other.close();
    await store.close();
    dir.remove();
  }
});

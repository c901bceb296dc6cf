// Live per-backend state: the proxy publishes its active counts into routing.db only when they change
// (plus a periodic "alive" stamp); `db show` trusts them only while the stamp is fresh.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { LiveStatePublisher, type LiveCount, type LiveSink } from "../../src/routes/live-state.ts";
import { liveCounts, routableCount } from "../../src/routes/route-counts.ts";
import { isFresh, openLiveTable } from "../../src/store/live-table.ts";
import { openLibsqlStore } from "../../src/store/libsql-store.ts";
import { silentLogger } from "../../src/lifecycle/log.ts";
import type { Backend } from "../../src/core/types.ts";
import { tempDir } from "../fixtures/routing-db.ts";
import { openSqlConnection } from "../../src/store/sql-connection.ts";

function recordingSink(): LiveSink & { writes: { changed: string[]; removed: string[]; at: number }[]; cleared: number } {
  const sink = {
    writes: [] as { changed: string[]; removed: string[]; at: number }[],
    cleared: 0,
    publish(changed: readonly { id: string; active: number }[], removed: readonly string[], nowMs: number) {
      sink.writes.push({ changed: changed.map((r) => `${r.id}=${r.active}`), removed: [...removed], at: nowMs });
    },
    clear() { sink.cleared++; },
    close() {},
  };
  return sink;
}

test("writes only what changed, and re-stamps an unchanged state every second interval", () => {
  const sink = recordingSink();
  let counts: LiveCount[] = [{ id: "a", active: 0 }, { id: "b", active: 2 }];
  const publisher = new LiveStatePublisher(sink, () => counts, 1000, silentLogger, () => 0);
  assert.equal(publisher.publish(0), true);
  assert.deepEqual(sink.writes.at(-1), { changed: ["a=0", "b=2"], removed: [], at: 0 });
  assert.equal(publisher.publish(1000), false, "nothing changed, stamp still fresh");
  assert.equal(publisher.publish(2000), true, "stamp refreshed");
  assert.deepEqual(sink.writes.at(-1), { changed: [], removed: [], at: 2000 });
  counts = [{ id: "a", active: 5 }, { id: "c", active: 1 }];
  assert.equal(publisher.publish(2500), true);
  assert.deepEqual(sink.writes.at(-1), { changed: ["a=5", "c=1"], removed: ["b"], at: 2500 });
  assert.equal(sink.writes.length, 3);
});

test("a sink that fails is retried on the next tick and the proxy carries on", () => {
  const sink = recordingSink();
  let fail = true;
  const flaky: LiveSink = { ...sink, publish: (...args) => { if (fail) throw new Error("locked"); sink.publish(...args); } };
  const publisher = new LiveStatePublisher(flaky, () => [{ id: "a", active: 1 }], 1000, silentLogger, () => 0);
  assert.equal(publisher.publish(0), false);
  fail = false;
  assert.equal(publisher.publish(1), true, "the unpublished change is written once the sink works");
  assert.deepEqual(sink.writes.at(-1)?.changed, ["a=1"]);
});

test("the table round-trips through routing.db next to the store, and stop() clears it", () => {
  const tmp = tempDir();
  const path = join(tmp.dir, "routing.db");
  const store = openLibsqlStore(path);
  const writer = openLiveTable(path);
  const reader = openLiveTable(path);
  try {
    assert.equal(reader.read(), null, "no proxy ever published");
    let counts: LiveCount[] = [{ id: "a", active: 3 }, { id: "b", active: 0 }];
    const publisher = new LiveStatePublisher(writer, () => counts, 500, silentLogger, () => 10_000);
    publisher.start();
    let snap = reader.read()!;
    assert.deepEqual([...snap.rows.values()], [{ id: "a", active: 3, circuit: null, probe: null }, { id: "b", active: 0, circuit: null, probe: null }]);
    assert.equal(isFresh(snap, 10_000 + 2500), true);
    assert.equal(isFresh(snap, 10_000 + 2501), false, "three intervals + 1 s without a stamp: the proxy is gone");
    counts = [{ id: "a", active: 1, circuit: "open", probe: "down" }];
    publisher.publish(10_600);
    snap = reader.read()!;
    assert.deepEqual([...snap.rows.values()], [{ id: "a", active: 1, circuit: "open", probe: "down" }]);
    publisher.stop();
    assert.equal(reader.read(), null, "a stopped proxy leaves no live state");
  } finally {
    reader.close();
    void store.close();
    tmp.remove();
  }
});

test("live writes are not routing changes (no change-log entry, same marker)", async () => {
  const tmp = tempDir();
  const path = join(tmp.dir, "routing.db");
  const store = openLibsqlStore(path);
  const table = openLiveTable(path);
  try {
    await store.upsertBackend({ id: "a", region: "sa", host: "10.0.0.1", port: 1 });
    const marker = await store.changeMarker();
    table.publish([{ id: "a", active: 9, circuit: null, probe: null }], [], 1, 1000);
    assert.equal(await store.changeMarker(), marker);
  } finally {
    table.close();
    await store.close();
    tmp.remove();
  }
});

test("route counts walk only the occupied slots; routable and circuit come from the engine", () => {
  const backend = (id: string, healthy: boolean): Backend => ({ id, app: "", region: "sa", country: null, host: "h", port: 1, healthy, weight: 1, softLimit: 1, hardLimit: 1, version: 1 });
  const slots: (Backend | null)[] = [backend("a", true), null, backend("b", false), backend("c", true)];
  let reads = 0;
  const table = { size: 3, backendAt: (s: number) => { reads++; return slots[s] ?? null; } };
  const engine = { capacity: 1_000_000, isRoutable: (s: number) => slots[s]?.healthy === true && s !== 3, active: (s: number) => s * 10, circuitState: (s: number) => (s === 3 ? 1 : 0) };
  assert.equal(routableCount(table, engine), 1, "c is out (probe down or circuit open: the engine's flag)");
  assert.equal(reads, 4, "stops once every backend was seen");
  assert.deepEqual(liveCounts(table, engine), [{ id: "a", active: 0, circuit: null, probe: null }, { id: "b", active: 20, circuit: null, probe: null }, { id: "c", active: 30, circuit: null, probe: null }]);
  assert.deepEqual(liveCounts(table, engine, { circuitsOn: true }).map((c) => c.circuit), ["closed", "closed", "open"]);
  assert.deepEqual(liveCounts(table, engine, { probe: (id) => (id === "b" ? "down" : "up") }).map((c) => c.probe), ["up", "down", "up"]);
});

test("a backend_live table made by an older proxy (no probe column) gains the column on first write", () => {
  const tmp = tempDir();
  const path = join(tmp.dir, "routing.db");
  const store = openLibsqlStore(path);
  const old = openSqlConnection(path);
  old.exec("CREATE TABLE backend_live (id TEXT PRIMARY KEY, active INTEGER NOT NULL, circuit TEXT, updated_at_ms INTEGER NOT NULL)");
  old.exec("CREATE TABLE live_publisher (id INTEGER PRIMARY KEY CHECK (id = 1), interval_ms INTEGER NOT NULL, updated_at_ms INTEGER NOT NULL)");
  old.run("INSERT INTO live_publisher (id, interval_ms, updated_at_ms) VALUES (1, 1000, 5)", []);
  old.run("INSERT INTO backend_live (id, active, circuit, updated_at_ms) VALUES ('a', 2, NULL, 5)", []);
  old.close();
  const table = openLiveTable(path);
  try {
    assert.deepEqual([...table.read()!.rows.values()], [{ id: "a", active: 2, circuit: null, probe: null }], "readable before the upgrade");
    table.publish([{ id: "a", active: 1, circuit: null, probe: "up" }], [], 10, 1000);
    assert.deepEqual([...table.read()!.rows.values()], [{ id: "a", active: 1, circuit: null, probe: "up" }]);
  } finally {
    table.close();
    void store.close();
    tmp.remove();
  }
});

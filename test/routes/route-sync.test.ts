// RouteSync with a fake store and a fake clock: the store state a metric exports, one log line per state
// change, a refresh asked for during a read runs once more after it, the snapshot keeper, restore.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Backend, RouteSnapshot } from "../../src/core/types.ts";
import { ReferenceEngine } from "../../src/core/reference-engine.ts";
import { RouteTable } from "../../src/core/route-table.ts";
import { RouteSync, type SnapshotSource } from "../../src/routes/route-sync.ts";
import type { Logger } from "../../src/lifecycle/log.ts";
import { decodeSnapshot, encodeSnapshot } from "../../src/store/snapshot-file.ts";

const backend = (id: string, over: Partial<Backend> = {}): Backend => ({
  id, app: "t", region: "sa", country: "BR", host: "127.0.0.1", port: 7000, healthy: true,
  weight: 1, softLimit: 10, hardLimit: 20, version: 1, ...over,
});

class FakeSource implements SnapshotSource {
  marker = "m1";
  backends: Backend[] = [backend("a")];
  down = false;
  reads = 0;
  gate: Promise<void> | null = null;
  async changeMarker() {
    if (this.gate) await this.gate;
    if (this.down) throw new Error("connection refused");
    return this.marker;
  }
  async readSnapshot() {
    this.reads++;
    if (this.down) throw new Error("connection refused");
    return { snapshot: { generation: this.marker, backends: this.backends }, skipped: [] };
  }
}

function setup() {
  const lines: { level: string; msg: string }[] = [];
  const log: Logger = {
    debug: (msg) => lines.push({ level: "debug", msg }),
    info: (msg) => lines.push({ level: "info", msg }),
    warn: (msg) => lines.push({ level: "warn", msg }),
    error: (msg) => lines.push({ level: "error", msg }),
  };
  let clock = 1000;
  const saved: RouteSnapshot[] = [];
  const source = new FakeSource();
  const table = new RouteTable(new ReferenceEngine(16), "sa");
  const sync = new RouteSync(source, table, log, { now: () => clock, keeper: { save: async (s) => { saved.push(s); } } });
  return { lines, source, table, sync, saved, tick: (ms: number) => { clock += ms; } };
}

test("state: ok with the last success time; failing during an outage (last success kept); ok again after", async () => {
  const { sync, source, tick, lines, table } = setup();
  assert.deepEqual(sync.state, { state: "ok", lastSuccessMs: null });
  await sync.refresh();
  assert.deepEqual(sync.state, { state: "ok", lastSuccessMs: 1000 });
  source.down = true;
  for (let i = 0; i < 5; i++) {
    tick(1000);
    await sync.refresh();
  }
  assert.deepEqual(sync.state, { state: "failing", lastSuccessMs: 1000 });
  assert.equal(table.size, 1, "the last good snapshot stays");
  assert.equal(lines.filter((l) => l.msg.startsWith("routing store unreadable")).length, 1, "one line per state change");
  source.down = false;
  tick(1000);
  await sync.refresh();
  assert.deepEqual(sync.state, { state: "ok", lastSuccessMs: 7000 });
  assert.equal(lines.filter((l) => l.msg === "routing store readable again").length, 1);
});

test("an unchanged marker reads nothing and saves nothing; a change is applied and saved", async () => {
  const { sync, source, saved } = setup();
  assert.equal(await sync.refresh(), true);
  assert.equal(await sync.refresh(), false);
  assert.equal(source.reads, 1);
  assert.equal(saved.length, 1);
  source.marker = "m2";
  source.backends = [backend("a"), backend("b")];
  assert.equal(await sync.refresh(), true);
  assert.deepEqual(saved.map((s) => s.generation), ["m1", "m2"]);
});

test("a refresh asked for while one runs is not lost: it runs once more after it", async () => {
  const { sync, source } = setup();
  let open!: () => void;
  source.gate = new Promise((r) => { open = r; });
  const first = sync.refresh();
  // A change lands (a NOTIFY) while the first read is still waiting on the store.
  const second = sync.refresh();
  const third = sync.refresh();
  assert.equal(second, third, "queued once, not once per call");
  source.marker = "m2";
  source.gate = null;
  open();
  await first;
  assert.equal(await second, false, "m2 was already read by the first refresh (gate opened after the change)");
  source.marker = "m3";
  const a = sync.refresh();
  source.marker = "m4";
  const b = sync.refresh();
  await a;
  await b;
  assert.equal(source.reads, 3, "m1/m2, then m3, then m4: every change read");
});

test("restore routes on a saved snapshot, and the next successful read replaces it", async () => {
  const { sync, source, table } = setup();
  source.down = true;
  await sync.refresh();
  sync.restore({ generation: "old", backends: [backend("x"), backend("y")] });
  assert.equal(table.size, 2);
  source.down = false;
  assert.equal(await sync.refresh(), true);
  assert.equal(table.size, 1);
});

test("a failing keeper is logged once and does not stop routing", async () => {
  const { table, lines, source } = setup();
  const log: Logger = { debug() {}, info: (m) => lines.push({ level: "info", msg: m }), warn: (m) => lines.push({ level: "warn", msg: m }), error() {} };
  const sync = new RouteSync(source, table, log, { keeper: { save: async () => { throw new Error("EACCES"); } } });
  await sync.refresh();
  source.marker = "m2";
  await sync.refresh();
  assert.equal(lines.filter((l) => l.msg.startsWith("cannot save the route snapshot")).length, 1);
  assert.equal(table.size, 1);
});

test("snapshot file format round-trips, and a damaged file is refused with the reason", () => {
  const snapshot = { generation: "s:7", backends: [backend("a", { country: null, host: "fd00::1" }), backend("b", { healthy: false })] };
  const back = decodeSnapshot(encodeSnapshot(snapshot, 1234));
  assert.deepEqual(back, { snapshot, savedAtMs: 1234 });
  assert.throws(() => decodeSnapshot("{}"), /not an edgeProxy route snapshot/);
  const bad = JSON.parse(encodeSnapshot(snapshot, 1)) as { backends: Record<string, unknown>[] };
  bad.backends[0]!.port = 70000;
  assert.throws(() => decodeSnapshot(JSON.stringify(bad)), /backend a: port: expected an integer 1-65535/);
});

// RouteTable.applyChanges against apply: the same store changes given as the changed backends to one
// table and as whole snapshots (listed as RouteSync keeps its rows) to another leave both in the very
// same state: slots, engine writes and their order, the publication, overflow and retired slots.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Backend } from "../../src/core/types.ts";
import type { SlotSpec } from "../../src/core/selection.ts";
import { ReferenceEngine } from "../../src/core/reference-engine.ts";
import { RouteTable } from "../../src/core/route-table.ts";
import { prng } from "../engine/engine-fixtures.ts";

/** The reference engine, keeping each slot's last spec and noting writes, clears and publications in order. */
class SpyEngine extends ReferenceEngine {
  readonly specs = new Map<number, SlotSpec>();
  readonly events: string[] = [];
  setSlot(slot: number, spec: SlotSpec): void {
    this.events.push(`set ${slot}`);
    this.specs.set(slot, spec);
    super.setSlot(slot, spec);
  }
  clearSlot(slot: number): void {
    this.events.push(`clear ${slot}`);
    this.specs.delete(slot);
    super.clearSlot(slot);
  }
}

function tableOn(capacity: number) {
  const engine = new SpyEngine(capacity);
  const table = new RouteTable(engine, "sa", () => engine.events.push("publish"));
  return { engine, table };
}
type Side = ReturnType<typeof tableOn>;

const backend = (id: string, over: Partial<Backend> = {}): Backend => ({
  id, app: "t", region: "sa", country: "BR", host: "127.0.0.1", port: 7000, healthy: true,
  weight: 1, softLimit: 10, hardLimit: 20, version: 1, ...over,
});

/** One apply's engine events as [clears, sets], checking their order: every clear, one publication, then the writes. */
function phases(engine: SpyEngine): [clears: string[], sets: string[]] {
  const events = engine.events.splice(0);
  const at = events.indexOf("publish");
  assert.ok(at >= 0 && events.lastIndexOf("publish") === at, `one publication: ${events.join(", ")}`);
  const clears = events.slice(0, at), sets = events.slice(at + 1);
  assert.ok(clears.every((e) => e.startsWith("clear ")) && sets.every((e) => e.startsWith("set ")), `clear, publish, write: ${events.join(", ")}`);
  return [clears.sort(), sets.sort()];
}

/** Both tables hold the same backends in the same slots, written alike; region ids are compared by
 *  name (each table numbers regions in the order it meets them). */
function assertSame(full: Side, delta: Side, ids: readonly string[], at: string): void {
  const regionNames = (side: Side) => new Map(side.table.publication().regions.map(([name, id]) => [id, name]));
  const fullRegions = regionNames(full), deltaRegions = regionNames(delta);
  const named = (spec: SlotSpec | undefined, names: Map<number, string>) => spec && { ...spec, region: names.get(spec.region) };
  for (let slot = 0; slot < full.engine.capacity; slot++) {
    assert.equal(delta.table.backendAt(slot), full.table.backendAt(slot), `${at}: backend in slot ${slot}`);
    assert.deepEqual(named(delta.engine.specs.get(slot), deltaRegions), named(full.engine.specs.get(slot), fullRegions), `${at}: engine slot ${slot}`);
    assert.equal(delta.engine.active(slot), full.engine.active(slot), `${at}: active in slot ${slot}`);
    assert.equal(delta.engine.incarnation(slot), full.engine.incarnation(slot), `${at}: incarnation of slot ${slot}`);
  }
  for (const id of ids) assert.equal(delta.table.slotOf(id), full.table.slotOf(id), `${at}: slot of ${id}`);
  const fullPublication = full.table.publication(), deltaPublication = delta.table.publication();
  assert.equal(deltaPublication.generation, fullPublication.generation);
  assert.deepEqual(deltaPublication.slots, fullPublication.slots, `${at}: published slots`);
  assert.deepEqual([...deltaRegions.values()].sort(), [...fullRegions.values()].sort(), `${at}: published regions`);
  assert.equal(delta.table.size, full.table.size);
}

for (const seed of [1, 2, 3, 4, 5]) {
  test(`seed ${seed}: random upserts and removals through applyChanges leave the table apply leaves with the same snapshots, connections held across them`, () => {
    const r = prng(seed);
    const capacity = 20;
    const ids = Array.from({ length: 30 }, (_, n) => `b${n}`);
    const full = tableOn(capacity), delta = tableOn(capacity);
    /** The rows the store routes, in the order RouteSync's #rows lists them. */
    const rows = new Map<string, Backend>();
    /** Connections open: the backend's slot in each table. */
    const held: [full: number, delta: number][] = [];
    let version = 0;
    for (let step = 0; step < 300; step++) {
      const at = `seed ${seed} step ${step}`;
      const changed = new Map<string, Backend | null>();
      for (let k = r.int(0, 6); k > 0; k--) {
        const id = r.pick(ids);
        const now = rows.get(id);
        if (changed.has(id)) continue;
        if (r.chance(0.35)) changed.set(id, null); // also ids not routed (a row skipped, deleted twice)
        else if (now !== undefined && r.chance(0.2)) changed.set(id, { ...now }); // read again, unchanged
        else changed.set(id, backend(id, { region: r.pick(["sa", "us", "eu", "ap"]), country: r.pick(["BR", "US", null]), healthy: r.chance(0.8), weight: r.int(1, 5), version: ++version }));
      }
      const removed = [...changed].filter(([, b]) => b === null).map(([id]) => id);
      const backends = [...changed.values()].filter((b) => b !== null);
      for (const id of removed) rows.delete(id);
      for (const b of backends) rows.set(b.id, b);
      const snapshot = { generation: `g${step}`, backends: [...rows.values()] };

      const fullReport = full.table.apply(snapshot);
      // Now and then the delta side reads every row too (a log gap, reapply): the two mix.
      const deltaReport = r.chance(0.05) ? delta.table.apply(snapshot) : delta.table.applyChanges({ generation: `g${step}`, backends, removed });
      assert.deepEqual(deltaReport, fullReport, `${at}: report`);
      assert.deepEqual(phases(delta.engine), phases(full.engine), `${at}: engine writes`);
      assertSame(full, delta, ids, at);

      // Connections opened on routed backends and closed at random, after their backend left too.
      for (let k = r.int(0, 3); k > 0; k--) {
        const id = r.pick(ids);
        const fullSlot = full.table.slotOf(id), deltaSlot = delta.table.slotOf(id);
        if (fullSlot === undefined || deltaSlot === undefined) continue;
        const opened = full.engine.acquire(fullSlot);
        assert.equal(delta.engine.acquire(deltaSlot), opened);
        if (opened) held.push([fullSlot, deltaSlot]);
      }
      for (let i = held.length - 1; i >= 0; i--) {
        if (!r.chance(0.15)) continue;
        const [fullSlot, deltaSlot] = held.splice(i, 1)[0]!;
        full.engine.release(fullSlot);
        delta.engine.release(deltaSlot);
      }
    }
  });
}

test("applyChanges writes in apply's order, only the slots named: the slots that left cleared, the new view published, then the changed slots written", () => {
  const { engine, table } = tableOn(8);
  const a = backend("a"), b = backend("b"), c = backend("c");
  table.apply({ generation: "g1", backends: [a, b, c] });
  engine.events.splice(0);
  const [slotB, slotC] = [table.slotOf("b")!, table.slotOf("c")!];
  const report = table.applyChanges({ generation: "g2", backends: [{ ...b, healthy: false, version: 2 }, backend("d")], removed: ["c", "never-routed"] });
  assert.deepEqual(report, { added: 1, updated: 1, removed: 1, overflow: [] });
  assert.deepEqual(engine.events.splice(0), [`clear ${slotC}`, "publish", `set ${slotB}`, `set ${table.slotOf("d")}`]);
  assert.equal(table.generation, "g2");
  assert.equal(table.backendAt(table.slotOf("a")!), a, "a, not named, is untouched");
  assert.equal(engine.isRoutable(slotB), false);
  assert.equal(table.slotOf("c"), undefined);
  assert.notEqual(table.slotOf("d"), slotC, "the slot c left is not reused by the change that cleared it");
});

test("applyChanges: backends left out for want of a slot wait, and take slots freed later before backends added after them", () => {
  const { engine, table } = tableOn(2);
  assert.deepEqual(table.applyChanges({ generation: "g1", backends: [backend("a"), backend("b"), backend("c")], removed: [] }).overflow, ["c"]);
  const slotA = table.slotOf("a")!;
  engine.acquire(slotA); // a connection still open on a
  let report = table.applyChanges({ generation: "g2", backends: [backend("d"), backend("c", { weight: 4, version: 2 })], removed: ["a"] });
  assert.deepEqual(report, { added: 0, updated: 0, removed: 1, overflow: ["c", "d"] }, "c keeps its place in the queue, changed");
  assert.equal(table.backendAt(slotA), null);
  report = table.applyChanges({ generation: "g3", backends: [], removed: [] });
  assert.deepEqual(report.overflow, ["c", "d"], "a's slot stays retired while its connection is open");
  engine.release(slotA);
  report = table.applyChanges({ generation: "g4", backends: [backend("e")], removed: [] });
  assert.deepEqual(report, { added: 1, updated: 0, removed: 0, overflow: ["d", "e"] });
  assert.equal(table.slotOf("c"), slotA);
  assert.equal(table.backendAt(slotA)?.weight, 4, "the waiting backend's latest values");
  report = table.applyChanges({ generation: "g5", backends: [], removed: ["d"] });
  assert.deepEqual(report.overflow, ["e"], "a backend removed while waiting waits no more");
});

// RouteTable.apply writes to the engine only the slots whose backend changed: a backend object already
// in its slot (RouteSync hands unchanged backends on as the same objects) is not written again, and the
// order stays: clear the slots that left, publish, then write.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Backend } from "../../src/core/types.ts";
import type { SlotSpec } from "../../src/core/selection.ts";
import { ReferenceEngine } from "../../src/core/reference-engine.ts";
import { RouteTable } from "../../src/core/route-table.ts";

const backend = (id: string, over: Partial<Backend> = {}): Backend => ({
  id, app: "t", region: "sa", country: "BR", host: "127.0.0.1", port: 7000, healthy: true,
  weight: 1, softLimit: 10, hardLimit: 20, version: 1, ...over,
});

/** The reference engine, noting every slot write and clear. */
class SpyEngine extends ReferenceEngine {
  readonly events: string[] = [];
  setSlot(slot: number, spec: SlotSpec): void {
    this.events.push(`set ${slot}`);
    super.setSlot(slot, spec);
  }
  clearSlot(slot: number): void {
    this.events.push(`clear ${slot}`);
    super.clearSlot(slot);
  }
}

function setup() {
  const engine = new SpyEngine(8);
  const table = new RouteTable(engine, "sa", () => engine.events.push("publish"));
  const events = () => engine.events.splice(0);
  return { engine, table, events, slot: (id: string) => table.slotOf(id)! };
}

test("a backend object already in its slot is not written again; a changed or new one is, after the clears and the publication", () => {
  const { engine, table, events, slot } = setup();
  const a = backend("a"), b = backend("b"), c = backend("c");
  table.apply({ generation: "g1", backends: [a, b, c] });
  assert.deepEqual(events(), ["publish", `set ${slot("a")}`, `set ${slot("b")}`, `set ${slot("c")}`]);

  const b2 = { ...b, healthy: false, version: 2 };
  const d = backend("d");
  const cSlot = slot("c");
  const report = table.apply({ generation: "g2", backends: [a, b2, d] });
  assert.deepEqual(events(), [`clear ${cSlot}`, "publish", `set ${slot("b")}`, `set ${slot("d")}`], "a is not rewritten");
  assert.deepEqual(report, { added: 1, updated: 1, removed: 1, overflow: [] });
  assert.equal(engine.isRoutable(slot("b")), false, "the changed backend was written");
  assert.equal(engine.isRoutable(slot("a")), true);
  assert.equal(table.backendAt(slot("b")), b2);
  assert.deepEqual(table.publication().slots.map(([, , x]) => x.id).sort(), ["a", "b", "d"], "the publication lists every backend");

  // An equal but different object (a full read) is written, without counting as an update.
  const a2 = { ...a };
  assert.deepEqual(table.apply({ generation: "g3", backends: [a2, b2, d] }), { added: 0, updated: 0, removed: 0, overflow: [] });
  assert.deepEqual(events(), ["publish", `set ${slot("a")}`]);

  // A backend that left comes back as the very same object: its new slot is written.
  table.apply({ generation: "g4", backends: [a2, b2, d, c] });
  assert.deepEqual(events(), ["publish", `set ${slot("c")}`]);
  assert.equal(engine.isRoutable(slot("c")), true);
});

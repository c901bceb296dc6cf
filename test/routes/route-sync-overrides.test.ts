// RouteSync lays the config file's backend overrides over every snapshot, and re-applies the last one
// when they change, keeping slots (and so open connections and their counts).
import { test } from "node:test";
import assert from "node:assert/strict";
import { RouteTable } from "../../src/core/route-table.ts";
import { withOverrides, type BackendOverrides } from "../../src/core/backend-overrides.ts";
import type { SelectionEngine, SlotSpec } from "../../src/core/selection.ts";
import type { Backend } from "../../src/core/types.ts";
import { RouteSync } from "../../src/routes/route-sync.ts";
import { silentLogger } from "../../src/lifecycle/log.ts";

/** Records what the table writes into each slot; active counts set by hand. */
function recordingEngine(capacity: number) {
  const specs = new Map<number, SlotSpec>();
  const active = new Map<number, number>();
  const engine = {
    capacity,
    setSlot: (slot: number, spec: SlotSpec) => void specs.set(slot, spec),
    clearSlot: (slot: number) => void specs.delete(slot),
    active: (slot: number) => active.get(slot) ?? 0,
  } as unknown as SelectionEngine;
  return { engine, specs, active };
}

const backend = (id: string, weight: number): Backend => ({
  id, app: "", region: "sa", country: null, host: "127.0.0.1", port: 9000, healthy: true, weight, softLimit: 100, hardLimit: 150, version: 1,
});

test("overrides apply on refresh and on reapply, without a store read and without moving a slot", async () => {
  const { engine, specs, active } = recordingEngine(8);
  const table = new RouteTable(engine, "sa");
  let reads = 0;
  const source = {
    changeMarker: async () => "m1",
    readSnapshot: async () => { reads++; return { snapshot: { generation: "m1", backends: [backend("a", 1), backend("b", 1)] }, skipped: [] }; },
  };
  let overrides: BackendOverrides = new Map([["a", { weight: 7 }]]);
  const sync = new RouteSync(source, table, silentLogger, { adjust: (s) => withOverrides(s, overrides) });
  await sync.refresh();
  const slotA = table.slotOf("a")!;
  assert.equal(specs.get(slotA)!.weight, 7);
  active.set(slotA, 3); // open connections on a

  overrides = new Map([["a", { weight: 2, softLimit: 10, hardLimit: 12 }]]);
  sync.reapply();
  assert.equal(reads, 1, "no store read");
  assert.equal(table.slotOf("a"), slotA);
  assert.deepEqual([specs.get(slotA)!.weight, specs.get(slotA)!.softLimit, specs.get(slotA)!.hardLimit], [2, 10, 12]);
  assert.equal(engine.active(slotA), 3);

  overrides = new Map();
  sync.reapply();
  assert.equal(specs.get(slotA)!.weight, 1, "store value back once the override is gone");
});

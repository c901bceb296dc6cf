// Route publication through the shared memory: the control plane's RouteTable publishes each apply();
// an engine instance on another lane (as a worker thread has) picks it up at its next read.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Backend } from "../../src/core/types.ts";
import { RouteTable } from "../../src/core/route-table.ts";
import { attachEngine, createSharedEngine } from "../../src/engine/wasm-engine.ts";
import { RouteView, publishBytesFor, routePublisher } from "../../src/engine/route-bus.ts";

const backend = (id: string, over: Partial<Backend> = {}): Backend => ({
  id, app: "t", region: "sa", country: null, host: "127.0.0.1", port: 1, healthy: true,
  weight: 1, softLimit: 10, hardLimit: 20, version: 1, ...over,
});

function setup() {
  const control = createSharedEngine({ capacity: 8, lanes: 2, publishBytes: publishBytesFor(8) });
  const table = new RouteTable(control, "sa", routePublisher(control));
  const worker = attachEngine(control.memory, 1);
  return { control, table, worker, view: new RouteView(worker) };
}

test("a worker's view picks up each publication; backends keep their slots and live counts", () => {
  const { control, table, worker, view } = setup();
  assert.equal(view.epoch, 0);
  assert.equal(view.backendAt(0), null);
  table.apply({ generation: "g1", backends: [backend("a"), backend("b", { region: "eu" })] });
  const a = table.slotOf("a")!;
  assert.equal(view.backendAt(a)?.id, "a", "picked up at the next read, no message");
  assert.equal(view.epoch, control.currentEpoch());
  assert.equal(view.generation, "g1");
  assert.equal(view.knownRegionId("eu"), table.knownRegionId("eu"));
  assert.equal(worker.acquire(a), true);
  table.apply({ generation: "g2", backends: [backend("a", { weight: 3, version: 2 }), backend("c")] });
  assert.equal(view.backendAt(a)?.weight, 3);
  assert.equal(table.slotOf("a"), a, "same slot");
  assert.equal(control.active(a), 1, "its live count kept");
  assert.equal(view.slotOf("b"), undefined);
  assert.equal(view.backendAt(table.slotOf("c")!)?.id, "c");
});

test("a slot whose backend left is no longer routed by a view, even one that has not refreshed", () => {
  const { table, worker, view } = setup();
  table.apply({ generation: "g1", backends: [backend("a"), backend("b")] });
  const b = table.slotOf("b")!;
  assert.equal(view.backendAt(b)?.id, "b");
  // Stale view: the clear (incarnation bump) is seen before the publication is.
  worker.clearSlot(b);
  assert.equal(view.backendAt(b), null);
});

test("a publication larger than the buffer is refused at the control plane", () => {
  const control = createSharedEngine({ capacity: 8, publishBytes: 64 });
  const table = new RouteTable(control, "sa", routePublisher(control));
  assert.throws(() => table.apply({ generation: "g", backends: [backend("x".repeat(200))] }), /does not fit the 64-byte buffer/);
});

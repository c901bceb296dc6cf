// The routing decision with the reference engine and a fake clock: affinity, failover, snapshot swaps.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Backend, RouteSnapshot } from "../../src/core/types.ts";
import { ReferenceEngine } from "../../src/core/reference-engine.ts";
import { RouteTable } from "../../src/core/route-table.ts";
import { AffinityReference } from "../../src/core/affinity.ts";
import { Router } from "../../src/proxy/router.ts";

const backend = (id: string, over: Partial<Backend> = {}): Backend => ({
  id, app: "t", region: "sa", country: null, host: "127.0.0.1", port: 1, healthy: true,
  weight: 1, softLimit: 10, hardLimit: 20, version: 1, ...over,
});
const snap = (generation: string, ...backends: Backend[]): RouteSnapshot => ({ generation, backends });
const BR_CLIENT = "127.0.1.1";
const geo = { locate: (ip: string) => (ip.startsWith("127.0.1.") ? { country: "BR", region: "sa" } : { country: null, region: null }) };

function setup(ttlMs = 1000) {
  const engine = new ReferenceEngine(16);
  const table = new RouteTable(engine, "sa");
  const router = new Router(engine, table, new AffinityReference(engine, ttlMs, 100), geo);
  return { engine, table, router };
}

test("picks by geo, reserves the slot, and binds the client on connect", () => {
  const { engine, table, router } = setup();
  table.apply(snap("1", backend("cl", { country: "CL" }), backend("br", { country: "BR" })));
  const attempts = router.begin(BR_CLIENT);
  const route = attempts.next(0)!;
  assert.equal(route.backend.id, "br");
  assert.equal(engine.active(route.slot), 1, "reserved before connecting");
  attempts.connected(route, 0);
  router.release(route);
  assert.equal(engine.active(route.slot), 0);
  const again = router.begin(`::ffff:${BR_CLIENT}`).next(10)!;
  assert.equal(again.sticky, true, "IPv4-mapped address is the same client");
});

test("failover skips the backend that failed and does not bind it", () => {
  const { engine, table, router } = setup();
  table.apply(snap("1", backend("br", { country: "BR" }), backend("other")));
  const attempts = router.begin(BR_CLIENT);
  const first = attempts.next(0)!;
  assert.equal(first.backend.id, "br");
  attempts.failed(first);
  assert.equal(engine.active(first.slot), 0, "the failed reservation is released");
  const second = attempts.next(0)!;
  assert.equal(second.backend.id, "other");
  attempts.connected(second, 0);
  router.release(second);
  // A new connection of the same client is sticky to where it connected.
  assert.equal(router.begin(BR_CLIENT).next(1)!.backend.id, "other");
});

test("when every backend failed there is no further choice", () => {
  const { table, router } = setup();
  table.apply(snap("1", backend("a"), backend("b")));
  const attempts = router.begin("10.0.0.9");
  attempts.failed(attempts.next(0)!);
  attempts.failed(attempts.next(0)!);
  assert.equal(attempts.next(0), null);
});

test("a binding is dropped when the backend is no longer a candidate, or the slot changed hands", () => {
  const { table, router } = setup();
  table.apply(snap("1", backend("a"), backend("b", { weight: 1000 })));
  const r = router.begin("10.0.0.1");
  const route = r.next(0)!;
  r.connected(route, 0);
  router.release(route);
  const bound = route.backend.id;
  table.apply(snap("2", backend(bound, { healthy: false }), backend(bound === "a" ? "b" : "a")));
  const next = router.begin("10.0.0.1").next(1)!;
  assert.equal(next.sticky, false);
  assert.notEqual(next.backend.id, bound);
});

test("an expired binding is not used", () => {
  const { table, router } = setup(100);
  table.apply(snap("1", backend("a"), backend("b")));
  const r = router.begin("10.0.0.2");
  const route = r.next(0)!;
  r.connected(route, 0);
  router.release(route);
  assert.equal(router.begin("10.0.0.2").next(99)!.sticky, true);
  assert.equal(router.begin("10.0.0.2").next(99 + 100)!.sticky, false);
});

test("a snapshot swap keeps live counts; a removed backend's slot is reused only once drained", () => {
  const { engine, table, router } = setup();
  table.apply(snap("1", backend("a", { hardLimit: 1 })));
  const held = router.begin("10.0.0.3").next(0)!;
  assert.equal(held.backend.id, "a");
  table.apply(snap("2", backend("a", { hardLimit: 1, version: 2 })));
  assert.equal(engine.active(held.slot), 1, "count survives the swap");
  assert.equal(router.begin("10.0.0.4").next(0), null, "hard limit 1 still enforced");
  table.apply(snap("3", backend("n1"), backend("n2")));
  assert.notEqual(table.slotOf("n1"), held.slot);
  assert.notEqual(table.slotOf("n2"), held.slot);
  router.release(held);
  table.apply(snap("4", backend("n1"), backend("n2"), backend("n3")));
  assert.ok(table.slotOf("n3") !== undefined);
});

test("operator region overrides reach the geo tier (region ids interned per table)", () => {
  const { table } = setup();
  table.apply(snap("1", backend("x", { region: "zz" })));
  assert.ok(table.knownRegionId("zz") > 0);
  assert.equal(table.knownRegionId("nowhere"), 0);
});

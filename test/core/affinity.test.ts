// The affinity policy, on both implementations: the reference (a Map) and the shared WASM table.
import { test } from "node:test";
import assert from "node:assert/strict";
import { AffinityReference, type AffinityBindings } from "../../src/core/affinity.ts";
import { normalizeClientIp } from "../../src/core/client-ip.ts";
import { ReferenceEngine } from "../../src/core/reference-engine.ts";
import type { SelectionEngine } from "../../src/core/selection.ts";
import { createWasmEngine } from "../../src/engine/wasm-engine.ts";

const spec = { country: 0, region: 1, local: true, healthy: true, weight: 1, softLimit: 10, hardLimit: 20 };

const TABLES: readonly (readonly [string, (ttlMs: number, max: number) => { engine: SelectionEngine; table: AffinityBindings }])[] = [
  ["reference", (ttlMs, max) => {
    const engine = new ReferenceEngine(8);
    return { engine, table: new AffinityReference(engine, ttlMs, max) };
  }],
  ["wasm", (ttlMs) => {
    const engine = createWasmEngine(8, 0, 64);
    return { engine, table: engine.bindings(ttlMs) };
  }],
];

function withSlots(engine: SelectionEngine): SelectionEngine {
  for (let s = 0; s < 4; s++) engine.setSlot(s, spec);
  return engine;
}

for (const [name, create] of TABLES) {
  test(`${name}: a binding is returned until its TTL runs out, and the TTL slides on use`, () => {
    const { engine, table } = create(1000, 10);
    withSlots(engine);
    assert.equal(table.bind("1.2.3.4", 3, 0), 3);
    assert.equal(table.lookup("1.2.3.4", 999), 3); // slides to 1999
    assert.equal(table.lookup("1.2.3.4", 1998), 3); // slid to 1999 above, now to 2998
    assert.equal(table.lookup("1.2.3.4", 2998), -1); // expiry is exclusive
  });

  test(`${name}: an expired binding is never reused, even before gc runs; gc removes only expired ones`, () => {
    const { engine, table } = create(100, 10);
    withSlots(engine);
    table.bind("10.0.0.1", 0, 0);
    table.bind("10.0.0.2", 1, 50);
    assert.equal(table.lookup("10.0.0.1", 100), -1);
    assert.equal(table.size, 2);
    assert.equal(table.gc(120), 1);
    assert.equal(table.lookup("10.0.0.2", 120), 1);
    assert.equal(table.size, 1);
  });

  test(`${name}: the first live binding to a candidate stands; a binding to a non-candidate is replaced`, () => {
    const { engine, table } = create(1000, 10);
    withSlots(engine);
    assert.equal(table.bind("10.0.0.9", 1, 0), 1);
    assert.equal(table.bind("10.0.0.9", 2, 1), 1, "another worker's choice does not replace a live binding");
    engine.setHealthy(1, false);
    assert.equal(table.bind("10.0.0.9", 2, 2), 2, "the bound backend is no candidate: rebound");
    assert.equal(table.lookup("10.0.0.9", 3), 2);
  });

  test(`${name}: a binding dies with its backend (the slot's incarnation), even if the slot is reused`, () => {
    const { engine, table } = create(1000, 10);
    withSlots(engine);
    table.bind("10.0.0.7", 2, 0);
    engine.clearSlot(2);
    engine.setSlot(2, spec);
    assert.equal(table.lookup("10.0.0.7", 1), -1);
  });

  test(`${name}: unbind drops the binding only if it names the slot; IPv4-mapped is the same client`, () => {
    const { engine, table } = create(1000, 10);
    withSlots(engine);
    table.bind("::ffff:10.1.1.1", 0, 0);
    assert.equal(table.lookup("10.1.1.1", 1), 0);
    assert.equal(table.unbind("10.1.1.1", 3), false);
    assert.equal(table.unbind("10.1.1.1", 0), true);
    assert.equal(table.lookup("::FFFF:10.1.1.1", 2), -1);
    table.bind("2001:DB8::1", 1, 3);
    assert.equal(table.lookup("2001:db8:0:0:0:0:0:1", 4), 1);
  });
}

test("reference: the table is bounded, the least recently bound is dropped first", () => {
  const engine = withSlots(new ReferenceEngine(8));
  const t = new AffinityReference(engine, 1000, 2);
  t.bind("10.0.0.1", 0, 0);
  t.bind("10.0.0.2", 0, 3);
  t.bind("10.0.0.3", 0, 4);
  assert.equal(t.size, 2);
  assert.equal(t.lookup("10.0.0.1", 5), -1, "the oldest binding was evicted");
});

test("wasm: the table never grows; a full probe window drops the binding closest to expiry, and counts it", () => {
  const engine = withSlots(createWasmEngine(8, 0, 16)) as ReturnType<typeof createWasmEngine>; // one probe window
  const t = engine.bindings(1000);
  const bytes = engine.memoryBytes;
  for (let i = 0; i < 16; i++) assert.equal(t.bind(`10.9.0.${i}`, 0, i), 0);
  assert.equal(engine.affinityEvictions, 0);
  assert.equal(t.bind("10.9.1.1", 1, 100), 1, "a new client is never refused for lack of room");
  assert.equal(engine.affinityEvictions, 1);
  assert.equal(t.lookup("10.9.0.0", 101), -1, "the one closest to expiry went");
  assert.equal(t.lookup("10.9.0.15", 101), 0);
  assert.equal(t.size, 16);
  assert.equal(engine.memoryBytes, bytes);
});

test("IPv4-mapped IPv6 addresses are the same client as the IPv4 address", () => {
  assert.equal(normalizeClientIp("::ffff:127.0.1.5"), "127.0.1.5");
  assert.equal(normalizeClientIp("::FFFF:10.0.0.1"), "10.0.0.1");
  assert.equal(normalizeClientIp("2001:DB8::1"), "2001:db8::1");
  assert.equal(normalizeClientIp("127.0.0.1"), "127.0.0.1");
});

// The embedded module: current with assembly/, importing one shared memory, laid out as the host mirror says.

import { test } from "node:test";
import assert from "node:assert/strict";
import { sourceHash, readGeneratedHash } from "../../build/build-wasm.mjs";
import { CORE_WASM_BASE64, CORE_WASM_SOURCE_HASH } from "../../src/engine/core-wasm.generated.ts";
import { attachCore, checkLayout, createCoreMemory } from "../../src/engine/core-module.ts";
import { REGIONS, MAP_BASE, HEADER_BYTES, LANE_BYTES, layoutFor, type EngineShape } from "../../src/engine/layout.ts";
import { attachEngine, createSharedEngine, createWasmEngine } from "../../src/engine/wasm-engine.ts";

const shape = (capacity: number, over: Partial<EngineShape> = {}): EngineShape => ({ capacity, bucketCapacity: 0, lanes: 1, affinityCapacity: 0, publishBytes: 0, ...over });
const instantiateCore = (capacity: number, over: Partial<EngineShape> = {}) => attachCore(createCoreMemory(shape(capacity, over)), 0).core;

function moduleBytes() {
  const binary = atob(CORE_WASM_BASE64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

test("src/engine/core-wasm.generated.ts is built from the current assembly/ sources", () => {
  assert.equal(readGeneratedHash(), CORE_WASM_SOURCE_HASH);
  assert.equal(CORE_WASM_SOURCE_HASH, sourceHash(), "stale: run `npm run build:wasm` (build/build-wasm.mjs --check fails too)");
});

test("the module imports one memory (the shared one the host creates) and nothing else", () => {
  const module = new WebAssembly.Module(moduleBytes());
  assert.deepEqual(WebAssembly.Module.imports(module), [{ module: "env", name: "memory", kind: "memory" }]);
  const memory = createSharedEngine({ capacity: 8 }).memory;
  assert.ok(memory.buffer instanceof SharedArrayBuffer, "the memory is shared");
});

test("the host layout mirror matches the module for small, odd and large capacities", () => {
  for (const [capacity, lanes] of [[1, 1], [31, 2], [33, 3], [1_000, 5], [65_536, 1]] as const) {
    const core = instantiateCore(capacity, { lanes, bucketCapacity: 64, affinityCapacity: 32, publishBytes: 1024 }); // checks the mirror itself
    const map = layoutFor(shape(capacity, { lanes, bucketCapacity: 64, affinityCapacity: 32, publishBytes: 1024 }));
    assert.equal(core.regionOffset(0), MAP_BASE + HEADER_BYTES + LANE_BYTES * lanes);
    assert.equal(core.areaOffset(4), map.end);
    assert.ok(core.memory.buffer.byteLength >= map.end);
    for (const region of REGIONS) assert.equal(map.addresses[region.name] % 16, 0, region.name);
  }
});

test("a drifted mirror fails at load with the regions named", () => {
  const core = instantiateCore(64);
  assert.throws(
    () => checkLayout(core as unknown as WebAssembly.Exports, shape(96)),
    (error: Error) => /layout\.ts does not match assembly\/layout\.ts/.test(error.message) && /REGION address: host mirror/.test(error.message),
  );
});

test("capacity is checked; the 65,536-slot table works end to end", () => {
  assert.throws(() => createWasmEngine(0), /capacity must be an integer in 1\.\.1048576, got 0/);
  assert.throws(() => createWasmEngine(1.5), RangeError);
  assert.throws(() => createWasmEngine(2 ** 20 + 1), RangeError);
  const e = createWasmEngine(65_536);
  e.setSlot(65_535, { country: 0, region: 1, local: true, healthy: true, weight: 1, softLimit: 1, hardLimit: 1 });
  assert.equal(e.select(0, 0, 0, 1), 65_535);
  assert.equal(e.acquire(65_535), true);
  assert.equal(e.select(0, 0, 0, 1), -1);
  e.clearSlot(65_535);
  assert.equal(e.active(65_535), 1);
});

test("instances on one memory share every table; lanes are checked", () => {
  const a = createSharedEngine({ capacity: 8, lanes: 2 });
  const b = attachEngine(a.memory, 1);
  a.setSlot(0, { country: 0, region: 1, local: true, healthy: true, weight: 1, softLimit: 1, hardLimit: 2 });
  assert.equal(b.select(0, 0, 0, 1), 0);
  assert.equal(b.acquire(0), true);
  assert.equal(a.active(0), 1);
  assert.equal(a.acquire(0), true);
  assert.equal(b.acquire(0), false, "the hard limit counts both instances' reservations");
  assert.equal(a.select(0, 0, 0, 1), -1);
  assert.throws(() => attachEngine(a.memory, 2), /lane out of range/);
});

test("engines are independent instances", () => {
  const a = createWasmEngine(8), b = createWasmEngine(8);
  a.setSlot(0, { country: 0, region: 1, local: true, healthy: true, weight: 1, softLimit: 1, hardLimit: 5 });
  assert.equal(a.acquire(0), true);
  assert.equal(b.active(0), 0);
  assert.equal(b.select(0, 0, 0, 1), -1);
});

// The embedded module: current with assembly/, loadable with no imports, laid out as the host mirror says.

import { test } from "node:test";
import assert from "node:assert/strict";
import { sourceHash, readGeneratedHash } from "../../build/build-wasm.mjs";
import { CORE_WASM_BASE64, CORE_WASM_SOURCE_HASH } from "../../src/engine/core-wasm.generated.ts";
import { checkLayout, instantiateCore } from "../../src/engine/core-module.ts";
import { REGIONS, MAP_BASE, regionAddresses } from "../../src/engine/layout.ts";
import { createWasmEngine } from "../../src/engine/wasm-engine.ts";

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

test("the module needs no imports and exports its memory", () => {
  const module = new WebAssembly.Module(moduleBytes());
  assert.deepEqual(WebAssembly.Module.imports(module), []);
  assert.ok(WebAssembly.Module.exports(module).some((e) => e.name === "memory" && e.kind === "memory"));
});

test("the host layout mirror matches the module for small, odd and large capacities", () => {
  for (const capacity of [1, 31, 33, 1_000, 65_536]) {
    const core = instantiateCore(capacity); // checks the mirror itself
    const { addresses, end } = regionAddresses(capacity);
    assert.equal(core.regionOffset(0), MAP_BASE + 128);
    assert.equal(core.regionOffset(REGIONS.length), end);
    assert.ok(core.memory.buffer.byteLength >= end);
    assert.equal(addresses.COUNTRY % 16, 0);
    assert.equal(addresses.SW % 16, 0);
  }
});

test("a drifted mirror fails at load with the regions named", () => {
  const core = instantiateCore(64);
  assert.throws(
    () => checkLayout(core as unknown as WebAssembly.Exports, 96),
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

test("engines are independent instances", () => {
  const a = createWasmEngine(8), b = createWasmEngine(8);
  a.setSlot(0, { country: 0, region: 1, local: true, healthy: true, weight: 1, softLimit: 1, hardLimit: 5 });
  assert.equal(a.acquire(0), true);
  assert.equal(b.active(0), 0);
  assert.equal(b.select(0, 0, 0, 1), -1);
});

// The token-bucket area after the per-slot regions, checked against the host mirror.
import { test } from "node:test";
import assert from "node:assert/strict";
import { attachCore, checkLayout, createCoreMemory } from "../../src/engine/core-module.ts";
import { bucketCapacityFor, layoutFor, type EngineShape } from "../../src/engine/layout.ts";

const shape = (capacity: number, bucketCapacity: number): EngineShape => ({ capacity, bucketCapacity, lanes: 1, affinityCapacity: 0, publishBytes: 0 });
const instantiateCore = (capacity: number, buckets: number) => attachCore(createCoreMemory(shape(capacity, buckets)), 0).core;

test("the bucket area sits after the per-slot regions and the mirror matches for several sizes", () => {
  for (const [capacity, buckets] of [[1, 0], [1, 16], [31, 64], [1_000, 4_096], [65_536, 65_536]] as const) {
    const core = instantiateCore(capacity, buckets); // checks the mirror itself
    const map = layoutFor(shape(capacity, buckets));
    assert.equal(core.areaOffset(1), map.buckets);
    assert.equal(map.buckets % 16, 0);
    assert.ok(core.memory.buffer.byteLength >= map.affinity, `${capacity}/${buckets}: memory holds the table`);
  }
});

test("bucket capacities other than 0 or a power of two in 16..2^24 are refused", () => {
  for (const buckets of [1, 15, 17, 100, 2 ** 25]) {
    assert.throws(() => instantiateCore(8, buckets), /bucket capacity must be 0 or a power of two in 16\.\.16777216/);
  }
});

test("a drifted bucket mirror fails at load", () => {
  const core = instantiateCore(8, 32);
  assert.throws(() => checkLayout(core as unknown as WebAssembly.Exports, shape(8, 64)), /END address: host mirror/);
});

test("bucketCapacityFor rounds a client count up to a power of two, at least 16", () => {
  assert.deepEqual([1, 16, 17, 65_536, 65_537, 1_000_000].map(bucketCapacityFor), [16, 16, 32, 65_536, 131_072, 1_048_576]);
});

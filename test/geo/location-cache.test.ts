// LocationCache: bounded, keeps what is in use across a generation swap.
import { test } from "node:test";
import assert from "node:assert/strict";
import { LocationCache } from "../../src/geo/location-cache.ts";

const BR = { country: "BR", region: "sa" };

test("holds at most two generations and keeps recently used entries", () => {
  const cache = new LocationCache(3);
  for (const ip of ["a", "b", "c"]) cache.set(ip, BR);
  assert.equal(cache.get("a"), BR);
  cache.set("d", BR); // young generation full: a, b, c (plus the re-set a) become old
  assert.ok(cache.size <= 6);
  for (const ip of ["e", "f", "g", "h"]) cache.set(ip, BR);
  assert.equal(cache.get("b"), undefined, "unused entries are dropped after two swaps");
  assert.ok(cache.size <= 6);
});

test("an entry used between swaps survives them", () => {
  const cache = new LocationCache(2);
  cache.set("keep", BR);
  for (let i = 0; i < 20; i++) {
    cache.set(`x${i}`, BR);
    assert.equal(cache.get("keep"), BR, `round ${i}`);
  }
  assert.ok(cache.size <= 4);
});

test("capacity must be a positive integer", () => {
  assert.throws(() => new LocationCache(0), /capacity: expected an integer >= 1, got 0/);
});

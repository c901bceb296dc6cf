// The WASM token-bucket table against the unbounded reference on random take sequences (fake clock),
// and its fixed size: a million distinct clients neither grow linear memory nor disturb a bucket that is
// still refilling. The differential sequences keep the clock monotonic and the settings fixed: the table
// reuses a bucket that has refilled, which equals a new one only while time runs forward under the same
// refill rate (after a settings reload or a clock step back such a client may get a full bucket early).

import { test } from "node:test";
import assert from "node:assert/strict";
import { TokenBucketReference, type RateLimitSettings } from "../../src/core/token-bucket.ts";
import { createWasmEngine } from "../../src/engine/wasm-engine.ts";
import { bucketCapacityFor } from "../../src/engine/layout.ts";
import { prng } from "./engine-fixtures.ts";

const SEQUENCES = 300;
const TAKES = 500;

function randomSettings(random: ReturnType<typeof prng>): RateLimitSettings {
  return {
    enabled: true,
    burst: random.pick([1, 2, 3, 10, random.int(1, 50)]),
    maxRequests: random.pick([1, 3, 100, random.int(1, 1000)]),
    windowMs: random.pick([1000, 60_000, random.int(1, 5000)]),
  };
}

function clientIp(random: ReturnType<typeof prng>, n: number): string {
  const i = random.int(0, n - 1);
  switch (i % 4) {
    case 0: return `10.0.${i >> 8}.${i & 255}`;
    case 1: return `::ffff:10.0.${(i - 1) >> 8}.${(i - 1) & 255}`; // the IPv4 client just before, mapped
    case 2: return `2001:db8::${i.toString(16)}`;
    default: return `2001:db8:0:0:0:0:0:${i.toString(16)}`; // same client written out in full
  }
}

test(`WASM buckets match the reference on ${SEQUENCES} random take sequences`, () => {
  let allowed = 0, refused = 0;
  for (let seq = 0; seq < SEQUENCES; seq++) {
    const seed = 0xb0c4 + seq * 104_729;
    const random = prng(seed);
    const clients = random.int(1, 200);
    // Room for every client: the reference never forgets one, so the table must not need to either.
    const wasm = createWasmEngine(1, bucketCapacityFor(clients * 4));
    wasm.seedBuckets(random.int(0, 0xffffffff));
    const reference = new TokenBucketReference();
    const settings = randomSettings(random);
    let nowMs = random.int(0, 1e12);
    for (let take = 0; take < TAKES; take++) {
      if (random.chance(0.3)) nowMs += random.pick([0, 1, random.int(1, 50), random.int(50, 3000)]);
      const ip = clientIp(random, clients);
      const expected = reference.takeToken(ip, nowMs, settings);
      const got = wasm.takeToken(ip, nowMs, settings);
      if (expected !== got) assert.fail(`take ${take} of ${ip}: reference ${expected} vs wasm ${got} — sequence seed ${seed}`);
      if (got) allowed++; else refused++;
    }
    assert.equal(wasm.bucketEvictions, 0, `seed ${seed}: no bucket should be evicted early with room for every client`);
  }
  assert.ok(allowed > 10_000 && refused > 10_000, `sequences should both allow and refuse: ${allowed} / ${refused}`);
});

test("a burst over the limit gets exactly `burst` tokens, then one per refill interval", () => {
  const wasm = createWasmEngine(1, 64);
  const s: RateLimitSettings = { enabled: true, burst: 10, maxRequests: 100, windowMs: 1000 }; // one token per 10 ms
  const burst = Array.from({ length: 25 }, () => wasm.takeToken("192.0.2.7", 5_000, s));
  assert.equal(burst.filter(Boolean).length, 10);
  assert.deepEqual(burst.slice(0, 10), Array(10).fill(true));
  assert.equal(wasm.takeToken("192.0.2.7", 5_009, s), false, "9 ms: not yet a whole token");
  assert.equal(wasm.takeToken("192.0.2.7", 5_010, s), true, "10 ms: one token");
  assert.equal(wasm.takeToken("192.0.2.7", 5_010, s), false);
  assert.equal(wasm.takeToken("::ffff:192.0.2.7", 5_010, s), false, "the IPv4-mapped form is the same client");
  assert.equal(wasm.takeToken("192.0.2.8", 5_010, s), true, "another client has its own bucket");
});

test("a million distinct clients: memory stays fixed, refilled buckets are reused, a refilling one is kept", () => {
  const capacity = bucketCapacityFor(65_536);
  const wasm = createWasmEngine(1, capacity);
  wasm.seedBuckets(12345);
  const s: RateLimitSettings = { enabled: true, burst: 5, maxRequests: 1, windowMs: 60_000 }; // one token a minute
  const watched = "203.0.113.9", alone = new TokenBucketReference();
  const bytes = wasm.memoryBytes;
  // 500 new clients a second for 2,000 s (one connection each); a bucket that gave one token is full
  // again a minute later, so about 30,000 are refilling at any time. The watched client tries every
  // 10 s, so its bucket never refills.
  for (let i = 0; i < 1_000_000; i++) {
    wasm.takeToken(`2001:db8:${(i >>> 16).toString(16)}:${(i & 0xffff).toString(16)}::1`, 2 * i, s);
    if (i % 5_000 === 0) {
      assert.equal(wasm.takeToken(watched, 2 * i, s), alone.takeToken(watched, 2 * i, s), `the watched client at ${2 * i} ms is answered as if it were alone`);
    }
  }
  assert.equal(wasm.memoryBytes, bytes, "linear memory did not grow");
  const evictions = wasm.bucketEvictions;
  assert.ok(evictions < 10_000, `new clients take refilled buckets; only ${evictions} of 1,000,000 evicted one still refilling`);
});

test("a clock step back and a settings change mid-run: no refill for negative time, new settings apply", () => {
  const wasm = createWasmEngine(1, 64);
  const slow: RateLimitSettings = { enabled: true, burst: 2, maxRequests: 1, windowMs: 1000 };
  assert.equal(wasm.takeToken("192.0.2.1", 10_000, slow), true);
  assert.equal(wasm.takeToken("192.0.2.1", 10_000, slow), true);
  assert.equal(wasm.takeToken("192.0.2.1", 5_000, slow), false, "time going back refills nothing");
  assert.equal(wasm.takeToken("192.0.2.1", 10_999, slow), false, "and does not move the refill start back");
  assert.equal(wasm.takeToken("192.0.2.1", 11_000, slow), true);
  const roomier: RateLimitSettings = { ...slow, burst: 4 };
  assert.equal(wasm.takeToken("192.0.2.1", 11_000, roomier), true, "a larger burst applies at once");
});

test("a full table evicts the bucket nearest to full, and counts it", () => {
  const wasm = createWasmEngine(1, 16); // one probe window: every key competes for the same 16 entries
  const s: RateLimitSettings = { enabled: true, burst: 2, maxRequests: 1, windowMs: 1_000_000 };
  for (let i = 0; i < 16; i++) assert.equal(wasm.takeToken(`198.51.100.${i}`, i, s), true);
  assert.equal(wasm.bucketEvictions, 0);
  assert.equal(wasm.takeToken("198.51.100.200", 100, s), true, "a new client is never refused for lack of room");
  assert.equal(wasm.bucketEvictions, 1);
  // The evicted bucket was the oldest (most refilled): 198.51.100.0; the others are still tracked.
  assert.equal(wasm.takeToken("198.51.100.15", 100, s), true);
  assert.equal(wasm.takeToken("198.51.100.15", 100, s), false, "still tracked: its burst is spent");
});

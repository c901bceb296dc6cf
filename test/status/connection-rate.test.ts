// ConnectionRate: connections per second from a monotonic total, with fake time.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ConnectionRate } from "../../src/status/connection-rate.ts";

test("no rate from a single read, then the average since the first read", () => {
  const rate = new ConnectionRate();
  assert.equal(rate.perSecond(10_000, 100), null);
  assert.equal(rate.perSecond(10_500, 150), null, "half a second is too short to say");
  assert.equal(rate.perSecond(11_000, 120), 20);
  assert.equal(rate.perSecond(12_000, 140), 20);
});

test("averages over the last window only, once reads span more than it", () => {
  const rate = new ConnectionRate(5_000);
  let total = 0;
  for (let t = 0; t <= 10_000; t += 1_000) {
    total += t < 5_000 ? 100 : 10; // 100/s for five seconds, then 10/s
    rate.perSecond(t, total);
  }
  assert.equal(rate.perSecond(11_000, total + 10), 10);
});

test("a read after a long pause averages over the pause", () => {
  const rate = new ConnectionRate(5_000);
  rate.perSecond(0, 0);
  rate.perSecond(1_000, 10);
  assert.equal(rate.perSecond(61_000, 610), 10);
  assert.equal(rate.perSecond(62_000, 620), 10);
});

test("reads closer together than the sample spacing keep few samples and the same answer", () => {
  const rate = new ConnectionRate(5_000, 900, 250);
  rate.perSecond(0, 0);
  for (let t = 1; t <= 2_000; t++) rate.perSecond(t, t);
  assert.equal(rate.perSecond(2_000, 2_000), 1000);
});

test("never negative", () => {
  const rate = new ConnectionRate();
  rate.perSecond(0, 50);
  assert.equal(rate.perSecond(2_000, 10), 0);
});

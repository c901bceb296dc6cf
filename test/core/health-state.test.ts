import { test } from "node:test";
import assert from "node:assert/strict";
import { HealthState } from "../../src/core/health-state.ts";

const T = { healthy: 2, unhealthy: 3 };

test("a backend starts up and unprobed", () => {
  const s = new HealthState(1000);
  assert.equal(s.up, true);
  assert.equal(s.probes, 0);
  assert.equal(s.checkedAtMs, null);
  assert.equal(s.changedAtMs, 1000);
});

test("goes down after `unhealthy` failures in a row, not before", () => {
  const s = new HealthState(0);
  assert.equal(s.observe(false, T, 1), false);
  assert.equal(s.observe(false, T, 2), false);
  assert.equal(s.up, true);
  assert.equal(s.streak, 2);
  assert.equal(s.observe(false, T, 3), true);
  assert.equal(s.up, false);
  assert.equal(s.changedAtMs, 3);
  assert.equal(s.observe(false, T, 4), false); // already down: no second flip
});

test("a success in between resets the failure streak", () => {
  const s = new HealthState(0);
  s.observe(false, T, 1);
  s.observe(false, T, 2);
  assert.equal(s.observe(true, T, 3), false);
  assert.equal(s.streak, 0);
  s.observe(false, T, 4);
  s.observe(false, T, 5);
  assert.equal(s.up, true);
  assert.equal(s.observe(false, T, 6), true);
});

test("comes back after `healthy` successes in a row; a failure in between starts over", () => {
  const s = new HealthState(0);
  for (let i = 0; i < 3; i++) s.observe(false, T, i);
  assert.equal(s.up, false);
  assert.equal(s.observe(true, T, 10), false);
  assert.equal(s.observe(false, T, 11), false);
  assert.equal(s.observe(true, T, 12), false);
  assert.equal(s.observe(true, T, 13), true);
  assert.equal(s.up, true);
  assert.equal(s.changedAtMs, 13);
  assert.equal(s.probes, 3 + 4);
  assert.equal(s.checkedAtMs, 13);
});

test("thresholds are read per observation (a reload applies to the streak in progress)", () => {
  const s = new HealthState(0);
  s.observe(false, T, 1);
  assert.equal(s.observe(false, { healthy: 1, unhealthy: 2 }, 2), true);
  assert.equal(s.observe(true, { healthy: 1, unhealthy: 2 }, 3), true);
  // A threshold below 1 acts as 1: one result always suffices, never zero.
  assert.equal(s.observe(false, { healthy: 0, unhealthy: 0 }, 4), true);
});

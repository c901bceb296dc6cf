// The shared idle sweep on a fake clock: one timer for every splice, never early, at most 25 % late.
import { test } from "node:test";
import assert from "node:assert/strict";
import { IdleSweep, type IdleWatched, type Schedule } from "../../src/runtime/idle-watch.ts";

function fakeClock() {
  let now = 0;
  const timers: { at: number; fn: () => void }[] = [];
  const schedule: Schedule = (fn, ms) => {
    const timer = { at: now + ms, fn };
    timers.push(timer);
    return () => timers.splice(timers.indexOf(timer), 1);
  };
  const advance = (ms: number) => {
    for (const end = now + ms; ;) {
      timers.sort((a, b) => a.at - b.at);
      const next = timers[0];
      if (next === undefined || next.at > end) return void (now = end);
      timers.shift();
      now = next.at;
      next.fn();
    }
  };
  return { schedule, advance, pending: () => timers.length, now: () => now };
}

function splice(clock: { now(): number }): IdleWatched & { bytesFromClient: number; endedAt: number | null } {
  return {
    bytesFromClient: 0, bytesToClient: 0, idleLast: 0, idleQuiet: 0, endedAt: null,
    end(reason) {
      assert.equal(reason, "idle");
      this.endedAt = clock.now();
    },
  };
}

test("a quiet splice ends between the timeout and 1.25 × it, wherever in a tick it joined", () => {
  for (const joinAt of [0, 1, 120, 249]) {
    const clock = fakeClock();
    const sweep = new IdleSweep(1000, clock.schedule);
    const other = splice(clock);
    sweep.add(other); // starts the tick phase at 0
    clock.advance(joinAt);
    const s = splice(clock);
    sweep.add(s);
    clock.advance(2000);
    assert.ok(s.endedAt !== null, `joined at ${joinAt}`);
    const idleFor = s.endedAt! - joinAt;
    assert.ok(idleFor >= 1000 && idleFor <= 1250, `joined at ${joinAt}: ended after ${idleFor} ms`);
  }
});

test("traffic keeps a splice open; it ends one timeout (at most +25 %) after the last byte", () => {
  const clock = fakeClock();
  const sweep = new IdleSweep(1000, clock.schedule);
  const s = splice(clock);
  sweep.add(s);
  for (let i = 0; i < 20; i++) {
    clock.advance(300);
    s.bytesFromClient += 10; // a byte every 300 ms: never idle for 1000 ms
  }
  assert.equal(s.endedAt, null);
  const last = clock.now();
  clock.advance(2000);
  assert.ok(s.endedAt !== null && s.endedAt - last >= 1000 && s.endedAt - last <= 1250, `ended ${s.endedAt! - last} ms after the last byte`);
});

test("one timer for many splices, none once all are gone", () => {
  const clock = fakeClock();
  const sweep = new IdleSweep(1000, clock.schedule);
  const all = Array.from({ length: 1000 }, () => splice(clock));
  for (const s of all) sweep.add(s);
  assert.equal(clock.pending(), 1);
  for (const s of all.slice(0, 999)) sweep.delete(s);
  assert.equal(clock.pending(), 1);
  sweep.delete(all[999]!);
  assert.equal(clock.pending(), 0, "no timer while nothing is watched");
  clock.advance(5000);
  assert.ok(all.every((s) => s.endedAt === null), "a deleted splice is not ended");
});

// The lifecycle runner and the scheduler with fake components and fake time.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startInOrder, type Component } from "../../src/lifecycle/component.ts";
import { Scheduler } from "../../src/lifecycle/scheduler.ts";
import type { Logger } from "../../src/lifecycle/log.ts";
import { FakeClock } from "../fixtures/fake-clock.ts";

function recorder() {
  const events: string[] = [];
  const log: Logger = { debug() {}, info() {}, warn() {}, error: (msg, f) => { events.push(`${msg} ${String(f?.task ?? f?.component)}`); } };
  const part = (name: string, extra: Partial<Component> = {}): Component => ({
    name, start: () => { events.push(`start ${name}`); }, stop: () => { events.push(`stop ${name}`); }, ...extra,
  });
  return { events, log, part };
}

test("starts in order, stops in reverse, once", async () => {
  const { events, log, part } = recorder();
  const running = await startInOrder([part("a"), part("b"), part("c")], new Scheduler(new FakeClock(), log), log);
  assert.deepEqual(running.names, ["a", "b", "c"]);
  await Promise.all([running.stop(), running.stop()]);
  assert.deepEqual(events, ["start a", "start b", "start c", "stop c", "stop b", "stop a"]);
});

test("a failed start stops the ones already started in reverse and rethrows; a failing stop does not hold up the rest", async () => {
  const { events, log, part } = recorder();
  const boom = new Error("boom");
  const list = [part("a"), part("b", { stop: () => { throw new Error("stuck"); } }), part("c"), part("d", { start: () => { throw boom; } }), part("e")];
  await assert.rejects(startInOrder(list, new Scheduler(new FakeClock(), log), log), (err) => err === boom);
  assert.deepEqual(events, ["start a", "start b", "start c", "stop c", "component failed to stop b", "stop a"]);
});

test("ticks every period from start on the injected clock, awaits an async tick, re-reads the period, survives a failing tick", async () => {
  const clock = new FakeClock(0);
  const { events, log, part } = recorder();
  const ticks: number[] = [];
  let period = 1000;
  let release: (() => void) | null = null;
  const running = await startInOrder([part("t", {
    periodMs: () => period,
    tick: (nowMs) => {
      ticks.push(nowMs);
      if (ticks.length === 2) throw new Error("flaky");
      if (ticks.length === 3) return new Promise<void>((r) => { release = r; });
    },
  })], new Scheduler(clock, log), log);
  await clock.advance(999);
  assert.deepEqual(ticks, [], "first tick one period after start");
  await clock.advance(1);
  await clock.advance(1000);
  assert.deepEqual(ticks, [1000, 2000]);
  assert.ok(events.includes("periodic task failed t"));
  await clock.advance(1000);
  assert.deepEqual(ticks, [1000, 2000, 3000]);
  await clock.advance(5000);
  assert.deepEqual(ticks, [1000, 2000, 3000], "no overlap: the next tick waits for the one under way");
  period = 100;
  release!();
  await clock.advance(100);
  assert.deepEqual(ticks, [1000, 2000, 3000, 8100], "timed from the end of the slow tick, with the new period");
  await running.stop();
  assert.equal(clock.pending, 0);
  await clock.advance(10_000);
  assert.equal(ticks.length, 4, "no tick after stop");
});

test("stop waits for a tick under way before stopping its component", async () => {
  const clock = new FakeClock(0);
  const { events, log, part } = recorder();
  let release!: () => void;
  const running = await startInOrder([part("t", {
    periodMs: () => 10,
    tick: () => { events.push("tick"); return new Promise<void>((r) => { release = () => { events.push("tick done"); r(); }; }); },
  })], new Scheduler(clock, log), log);
  await clock.advance(10);
  const stopping = running.stop();
  await clock.advance(0);
  assert.deepEqual(events, ["start t", "tick"]);
  release();
  await stopping;
  assert.deepEqual(events, ["start t", "tick", "tick done", "stop t"]);
});

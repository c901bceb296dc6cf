// drainConnections: waits for in-flight connections, aborts what is left at the deadline (fake time).
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Splice } from "../../src/runtime/types.ts";
import { drainConnections, DrainState, type DrainOutcome } from "../../src/lifecycle/shutdown.ts";
import { FakeClock } from "../fixtures/fake-clock.ts";
import { silentLogger } from "../../src/lifecycle/log.ts";

function fakeSplice(onAbort: () => void): Splice {
  return { done: new Promise(() => {}), abort: onAbort, bytesFromClient: 0, bytesToClient: 0 };
}

test("returns as soon as the last connection finished, aborting nothing", async () => {
  const clock = new FakeClock();
  let active = 3;
  let aborted = 0;
  const inFlight = new Set([fakeSplice(() => aborted++)]);
  let outcome: DrainOutcome | null = null;
  const draining = drainConnections({ active: () => active, inFlight }, 30_000, silentLogger, clock).then((o) => { outcome = o; });
  await clock.advance(1000);
  assert.equal(outcome, null, "still waiting for 3 connections");
  active = 0;
  await clock.advance(25);
  await draining;
  assert.deepEqual(outcome, { finished: true, aborted: 0 });
  assert.equal(aborted, 0);
});

test("at the deadline the connections still open are aborted", async () => {
  const clock = new FakeClock();
  let aborted = 0;
  const inFlight = new Set([fakeSplice(() => aborted++), fakeSplice(() => aborted++)]);
  const draining = drainConnections({ active: () => 2, inFlight }, 50, silentLogger, clock);
  await clock.advance(49);
  assert.equal(aborted, 0, "not before the deadline");
  await clock.advance(1);
  assert.deepEqual(await draining, { finished: false, aborted: 2 });
  assert.equal(aborted, 2);
});

test("timeout 0 aborts at once; nothing active returns at once", async () => {
  let aborted = 0;
  assert.deepEqual(await drainConnections({ active: () => 1, inFlight: new Set([fakeSplice(() => aborted++)]) }, 0, silentLogger, new FakeClock()), { finished: false, aborted: 1 });
  assert.deepEqual(await drainConnections({ active: () => 0, inFlight: new Set() }, 0, silentLogger, new FakeClock()), { finished: true, aborted: 0 });
});

test("DrainState starts not draining and stays draining", () => {
  const d = new DrainState();
  assert.equal(d.draining, false);
  d.begin();
  d.begin();
  assert.equal(d.draining, true);
});

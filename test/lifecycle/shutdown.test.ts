// drainConnections: waits for in-flight connections, aborts what is left at the deadline.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Splice } from "../../src/runtime/types.ts";
import { drainConnections, DrainState } from "../../src/lifecycle/shutdown.ts";
import { silentLogger } from "../../src/lifecycle/log.ts";

function fakeSplice(onAbort: () => void): Splice {
  return { done: new Promise(() => {}), abort: onAbort, bytesFromClient: 0, bytesToClient: 0 };
}

test("returns as soon as the last connection finished, aborting nothing", async () => {
  let active = 3;
  let aborted = 0;
  const inFlight = new Set([fakeSplice(() => aborted++)]);
  const timer = setInterval(() => { if (active > 0) active--; }, 10);
  const started = Date.now();
  const outcome = await drainConnections({ active: () => active, inFlight }, 30_000, silentLogger, Date.now);
  clearInterval(timer);
  assert.deepEqual(outcome, { finished: true, aborted: 0 });
  assert.equal(aborted, 0);
  assert.ok(Date.now() - started < 10_000, "did not wait for the timeout");
});

test("at the deadline the connections still open are aborted", async () => {
  let aborted = 0;
  const inFlight = new Set([fakeSplice(() => aborted++), fakeSplice(() => aborted++)]);
  const outcome = await drainConnections({ active: () => 2, inFlight }, 50, silentLogger, Date.now);
  assert.deepEqual(outcome, { finished: false, aborted: 2 });
  assert.equal(aborted, 2);
});

test("timeout 0 aborts at once; nothing active returns at once", async () => {
  let aborted = 0;
  assert.deepEqual(await drainConnections({ active: () => 1, inFlight: new Set([fakeSplice(() => aborted++)]) }, 0, silentLogger, Date.now), { finished: false, aborted: 1 });
  assert.deepEqual(await drainConnections({ active: () => 0, inFlight: new Set() }, 0, silentLogger, Date.now), { finished: true, aborted: 0 });
});

test("DrainState starts not draining and stays draining", () => {
  const d = new DrainState();
  assert.equal(d.draining, false);
  d.begin();
  d.begin();
  assert.equal(d.draining, true);
});

// The health check scheduler with scripted probes and a real route table over the reference engine.
import { afterEach, test } from "node:test";
import assert from "node:assert/strict";
import { HealthChecker, type HealthSettings } from "../../src/health/health-checker.ts";
import { silentLogger } from "../../src/lifecycle/log.ts";
import { RouteTable } from "../../src/core/route-table.ts";
import { ReferenceEngine } from "../../src/core/reference-engine.ts";
import type { Backend } from "../../src/core/types.ts";
import type { HostPort } from "../../src/runtime/types.ts";
import { FakeClock } from "../fixtures/fake-clock.ts";

const tick = () => new Promise((r) => setTimeout(r, 0));
const backend = (id: string, port: number, healthy = true): Backend => ({ id, app: "", region: "sa", country: null, host: "127.0.0.1", port, healthy, weight: 1, softLimit: 10, hardLimit: 20, version: 1 });

const checkers: HealthChecker[] = [];
afterEach(() => { for (const c of checkers.splice(0)) c.stop(); });

function fixture() {
  const engine = new ReferenceEngine(8);
  const table = new RouteTable(engine, "sa");
  let backends = [backend("a", 1), backend("b", 2)];
  let generation = 0;
  const swap = (list: Backend[]) => { backends = list; table.apply({ generation: String(++generation), backends }); };
  swap(backends);
  /** Probes under way, by port: settle them by hand. */
  const pending = new Map<number, { ok: () => void; fail: (e: Error) => void; signal: AbortSignal }>();
  const probed: number[] = [];
  let settings: HealthSettings = { intervalMs: 1000, timeoutMs: 60_000, type: "tcp", path: "/health", healthyThreshold: 2, unhealthyThreshold: 2 };
  const flips: string[] = [];
  const clock = new FakeClock();
  const checker = new HealthChecker({
    table, engine,
    settings: () => settings,
    probe: () => (target: HostPort, _spec, signal) => new Promise<void>((ok, fail) => {
      probed.push(target.port);
      pending.set(target.port, { ok, fail, signal });
    }),
    clock,
    log: silentLogger,
    onFlip: (b, up) => flips.push(`${b.id}:${up ? "up" : "down"}`),
  });
  checkers.push(checker);
  const settle = async (port: number, ok: boolean) => {
    const p = pending.get(port)!;
    pending.delete(port);
    if (ok) p.ok(); else p.fail(new Error("refused"));
    await tick();
  };
  const candidate = (id: string) => engine.isCandidate(table.slotOf(id)!);
  return { clock, engine, table, checker, pending, probed, flips, swap, settle, candidate, set: (s: Partial<HealthSettings>) => { settings = { ...settings, ...s }; } };
}

test("a backend goes down after the failure threshold and back after the success threshold", async () => {
  const f = fixture();
  for (let round = 0; round < 2; round++) {
    f.checker.round();
    await f.settle(1, false);
    await f.settle(2, true);
  }
  assert.equal(f.checker.probeState("a"), "down");
  assert.equal(f.checker.probeHealthy("b"), true);
  assert.equal(f.candidate("a"), false);
  assert.equal(f.candidate("b"), true);
  assert.deepEqual(f.flips, ["a:down"]);
  for (let round = 0; round < 2; round++) {
    f.checker.round();
    await f.settle(1, true);
    await f.settle(2, true);
  }
  assert.equal(f.candidate("a"), true);
  assert.deepEqual(f.flips, ["a:down", "a:up"]);
});

test("a slow probe does not hold up the others: its backend is skipped until it answers", async () => {
  const f = fixture();
  f.checker.round();
  await f.settle(2, false); // b answers, a hangs
  f.checker.round();
  assert.deepEqual(f.probed, [1, 2, 2], "round 2 probes only b");
  await f.settle(2, false);
  assert.equal(f.checker.probeState("b"), "down");
  assert.equal(f.checker.probeState("a"), null, "not answered yet");
  await f.settle(1, true);
  assert.equal(f.checker.probeState("a"), "up");
});

test("the timeout fails a probe and aborts it, on the clock, not before", async () => {
  const f = fixture();
  f.set({ timeoutMs: 2000, unhealthyThreshold: 1 });
  f.checker.round();
  await f.settle(2, true);
  await f.clock.advance(1999);
  assert.equal(f.pending.get(1)!.signal.aborted, false, "still within its timeout");
  assert.equal(f.checker.probeState("a"), null);
  await f.clock.advance(1);
  assert.equal(f.pending.get(1)!.signal.aborted, true);
  assert.equal(f.checker.probeState("a"), "down");
  assert.equal(f.clock.pending, 0, "the answered probe's timer was cancelled too");
});

test("the verdict survives snapshot swaps (by backend id); a removed or disabled backend is forgotten", async () => {
  const f = fixture();
  f.set({ unhealthyThreshold: 1 });
  f.checker.round();
  await f.settle(1, false);
  await f.settle(2, false);
  assert.equal(f.candidate("a"), false);
  f.swap([{ ...backend("a", 1), weight: 5, version: 2 }, backend("b", 2)]); // an update rewrites the slot
  assert.equal(f.candidate("a"), false);
  f.swap([backend("a", 1, false)]); // a disabled; b removed
  f.checker.round();
  assert.equal(f.checker.probeState("a"), null);
  assert.equal(f.checker.probeState("b"), null);
  assert.deepEqual(f.probed, [1, 2], "neither is probed");
  f.swap([backend("a", 1), backend("b", 2)]); // enabled again, b re-added (a fresh slot)
  assert.equal(f.candidate("a"), true, "an operator's enable starts from a clean slate");
  assert.equal(f.candidate("b"), true);
  f.checker.round();
  await f.settle(1, true);
  await f.settle(2, false);
  assert.equal(f.candidate("b"), false);
});

test("a result for a backend that left meanwhile is dropped; stop() aborts what is under way", async () => {
  const f = fixture();
  f.checker.round();
  f.swap([backend("b", 2)]);
  await f.settle(1, false);
  assert.equal(f.checker.probeState("a"), null);
  f.checker.stop();
  assert.equal(f.pending.get(2)!.signal.aborted, true);
  await f.settle(2, false);
  assert.equal(f.checker.probeState("b"), null, "results after stop() are ignored");
});

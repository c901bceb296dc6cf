// Circuit breakers in the routing decision, on both engines with a fake clock: connect failures open a
// backend's circuit, which takes it out of selection and affinity; after the timeout a limited number of
// probes go through; successes close it, a failure reopens it. Each transition is logged once.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Backend, RouteSnapshot } from "../../src/core/types.ts";
import { CircuitState, type CircuitSettings } from "../../src/core/circuit.ts";
import { RouteTable } from "../../src/core/route-table.ts";
import { AffinityReference } from "../../src/core/affinity.ts";
import { Router, type Route } from "../../src/proxy/router.ts";
import { CircuitGuard } from "../../src/proxy/circuit-guard.ts";
import type { Logger } from "../../src/lifecycle/log.ts";
import { ENGINES } from "../engine/engine-fixtures.ts";

const backend = (id: string, over: Partial<Backend> = {}): Backend => ({
  id, app: "t", region: "sa", country: null, host: "127.0.0.1", port: 1, healthy: true,
  weight: 1, softLimit: 10, hardLimit: 20, version: 1, ...over,
});
const snap = (...backends: Backend[]): RouteSnapshot => ({ generation: "1", backends });
const geo = { locate: () => ({ country: null, region: null }) };

function setup(create: (capacity: number) => import("../../src/core/selection.ts").SelectionEngine, over: Partial<CircuitSettings> = {}) {
  const engine = create(8);
  const table = new RouteTable(engine, "sa");
  // "near" (this POP's region) always wins over "far" while it is a candidate.
  table.apply(snap(backend("near"), backend("far", { region: "us" })));
  const lines: { level: string; msg: string; fields: Record<string, unknown> }[] = [];
  const log = Object.fromEntries(["debug", "info", "warn", "error"].map((level) => [level, (msg: string, fields: Record<string, unknown> = {}) => lines.push({ level, msg, fields })])) as unknown as Logger;
  let settings: CircuitSettings = { enabled: true, failureThreshold: 3, successThreshold: 2, timeoutMs: 1000, halfOpenProbes: 2, ...over };
  const guard = new CircuitGuard(engine, (slot) => table.backendAt(slot), () => settings, log);
  const router = new Router(engine, table, new AffinityReference(engine, 60_000, 100), geo, guard);
  const near = table.slotOf("near")!;
  /** One client connection: tries routes until one "connects"; `down` backends fail. */
  const connect = (client: string, nowMs: number, down: Set<string>): { tried: string[]; route: Route | null } => {
    const attempts = router.begin(client);
    const tried: string[] = [];
    for (let route = attempts.next(nowMs); route !== null; route = attempts.next(nowMs)) {
      tried.push(route.backend.id);
      if (down.has(route.backend.id)) { attempts.failed(route, nowMs); continue; }
      attempts.connected(route, nowMs);
      return { tried, route };
    }
    return { tried, route: null };
  };
  return { engine, table, router, guard, near, lines, connect, set: (over: Partial<CircuitSettings>) => { settings = { ...settings, ...over }; } };
}

for (const [name, create] of ENGINES) {
  test(`${name}: failures open the circuit, traffic moves, half-open probes close it`, () => {
    const { engine, guard, near, lines, connect, router } = setup(create);
    const down = new Set(["near"]);
    for (let i = 0; i < 3; i++) {
      const r = connect(`10.0.0.${i}`, 100 + i, down);
      assert.deepEqual(r.tried, ["near", "far"], "near is tried and fails over while its circuit is closed");
      router.release(r.route!);
    }
    assert.equal(guard.state(near), CircuitState.OPEN);
    assert.equal(lines.filter((l) => l.msg === "circuit opened").length, 1, "logged once");
    assert.deepEqual(lines.find((l) => l.msg === "circuit opened")!.fields.backend, "near");
    assert.equal(lines.find((l) => l.msg === "circuit opened")!.level, "warn");
    // Open: near is not tried at all, even just before the timeout.
    const during = connect("10.0.1.1", 1101, down);
    assert.deepEqual(during.tried, ["far"]);
    router.release(during.route!);
    assert.equal(engine.isCandidate(near), false);

    // Timeout passed: half-open, the backend is back. Two probes may be in flight at once; a third
    // client meanwhile goes elsewhere.
    down.clear();
    const p1 = router.begin("10.0.2.1"), p2 = router.begin("10.0.2.2"), p3 = router.begin("10.0.2.3");
    const r1 = p1.next(1102)!, r2 = p2.next(1102)!, r3 = p3.next(1102)!;
    assert.equal(lines.filter((l) => l.msg === "circuit half-open").length, 1);
    assert.deepEqual([r1.backend.id, r1.probe, r2.backend.id, r2.probe, r3.backend.id, r3.probe], ["near", true, "near", true, "far", false]);
    p1.connected(r1, 1103);
    assert.equal(guard.state(near), CircuitState.HALF_OPEN, "one success of two");
    p2.connected(r2, 1104);
    assert.equal(guard.state(near), CircuitState.CLOSED);
    assert.equal(lines.filter((l) => l.msg === "circuit closed").length, 1);
    assert.equal(guard.transitions, 3);
    assert.deepEqual(guard.transitionsOf("near"), [1, 1, 1], "per backend, by the state moved to: closed, open, half-open");
    assert.equal(guard.transitionsOf("far"), undefined);
    for (const r of [r1, r2, r3]) router.release(r);
    assert.deepEqual(connect("10.0.3.1", 1105, down).tried, ["near"]);
  });

  test(`${name}: a failure while half-open reopens the circuit; the timeout runs again from then`, () => {
    const { guard, near, connect, router, lines } = setup(create, { failureThreshold: 1 });
    const down = new Set(["near"]);
    router.release(connect("10.0.0.1", 0, down).route!);
    assert.equal(guard.state(near), CircuitState.OPEN);
    const probe = connect("10.0.0.2", 1000, down); // half-open, the probe fails
    assert.deepEqual(probe.tried, ["near", "far"]);
    router.release(probe.route!);
    assert.equal(guard.state(near), CircuitState.OPEN);
    assert.equal(lines.filter((l) => l.msg === "circuit opened").length, 2);
    const r = connect("10.0.0.3", 1999, down);
    assert.deepEqual(r.tried, ["far"], "reopened at 1000: still open at 1999");
    router.release(r.route!);
    assert.deepEqual(connect("10.0.0.4", 2000, new Set()).tried, ["near"], "half-open again at 2000");
    assert.deepEqual(guard.transitionsOf("near"), [0, 2, 2], "opened twice, half-open twice, not closed yet");
  });

  test(`${name}: consecutive failures only — a success in between resets the count`, () => {
    const { guard, near, connect, router } = setup(create);
    for (const [i, downNow] of [[1, true], [2, true], [3, false], [4, true], [5, true]] as const) {
      const r = connect(`10.0.0.${i}`, i, downNow ? new Set(["near"]) : new Set());
      router.release(r.route!);
    }
    assert.equal(guard.state(near), CircuitState.CLOSED, "2 failures, a success, 2 failures: never 3 in a row");
    router.release(connect("10.0.0.6", 6, new Set(["near"])).route!);
    assert.equal(guard.state(near), CircuitState.OPEN);
  });

  test(`${name}: an open circuit breaks affinity; the client is rebound elsewhere`, () => {
    const { guard, near, connect, router } = setup(create, { failureThreshold: 1 });
    const bound = connect("10.9.9.9", 0, new Set());
    assert.deepEqual(bound.tried, ["near"]);
    router.release(bound.route!);
    router.release(connect("10.0.0.1", 1, new Set(["near"])).route!); // another client's failure opens it
    assert.equal(guard.state(near), CircuitState.OPEN);
    const again = connect("10.9.9.9", 2, new Set());
    assert.deepEqual(again.tried, ["far"], "the bound backend is not reused while its circuit is open");
    assert.equal(again.route!.sticky, false);
  });

  test(`${name}: settings are read on every call; switching the breaker off closes every circuit`, () => {
    const { guard, near, connect, router, set, lines } = setup(create);
    set({ failureThreshold: 1 });
    router.release(connect("10.0.0.1", 0, new Set(["near"])).route!);
    assert.equal(guard.state(near), CircuitState.OPEN, "the lowered threshold applied at once");
    set({ enabled: false });
    const r = connect("10.0.0.2", 1, new Set());
    assert.deepEqual(r.tried, ["near"]);
    assert.equal(guard.state(near), CircuitState.CLOSED);
    assert.ok(lines.some((l) => l.msg === "circuit breaker disabled: every circuit closed"));
    router.release(r.route!);
    for (let i = 0; i < 5; i++) router.release(connect(`10.0.1.${i}`, 2, new Set(["near"])).route!);
    assert.equal(guard.state(near), CircuitState.CLOSED, "off: failures are not counted");
  });

  test(`${name}: a connect that succeeds after the client left still counts (a probe is never lost)`, () => {
    const { guard, near, connect, router } = setup(create, { failureThreshold: 1, successThreshold: 1, halfOpenProbes: 1 });
    router.release(connect("10.0.0.1", 0, new Set(["near"])).route!);
    const attempts = router.begin("10.0.0.2");
    const probe = attempts.next(1000)!;
    assert.equal(probe.probe, true);
    attempts.abandoned(probe);
    assert.equal(guard.state(near), CircuitState.CLOSED);
  });
}

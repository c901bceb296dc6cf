// Differential test of the circuit breakers: on random event sequences (fake clock, random thresholds,
// probe limits and timeouts that a settings reload could change at any time) the WASM circuits must
// answer exactly what the reference does, and selection must agree on which slots the circuits block.
// A failure names the sequence seed; SEQUENCE_SEED=<n> reruns just that one.

import { test } from "node:test";
import assert from "node:assert/strict";
import type { SelectionEngine } from "../../src/core/selection.ts";
import { ReferenceEngine } from "../../src/core/reference-engine.ts";
import { CircuitState, NO_TRANSITION } from "../../src/core/circuit.ts";
import { createWasmEngine } from "../../src/engine/wasm-engine.ts";
import { prng, spec } from "./engine-fixtures.ts";

const SEQUENCES = 600;
const OPS = 400;

function advanceAll(engine: SelectionEngine, nowMs: number, timeoutMs: number): number[] {
  const slots: number[] = [];
  for (let slot = engine.advanceCircuit(0, nowMs, timeoutMs); slot >= 0; slot = engine.advanceCircuit(slot + 1, nowMs, timeoutMs)) slots.push(slot);
  return slots;
}

function runSequence(seed: number): { transitions: number; halfOpen: number } {
  const random = prng(seed);
  const capacity = random.int(1, 40);
  const reference = new ReferenceEngine(capacity);
  const wasm = createWasmEngine(capacity);
  const engines = [reference, wasm] as const;
  let nowMs = random.int(0, 1e12);
  let op = -1, what = "";
  const fail = (message: string): never => assert.fail(`${message} — sequence seed ${seed}, op ${op} (${what})`);
  const same = <T>(label: string, f: (e: SelectionEngine) => T): T => {
    const a = f(reference), b = f(wasm);
    if (JSON.stringify(a) !== JSON.stringify(b)) fail(`${label}: reference ${JSON.stringify(a)} vs wasm ${JSON.stringify(b)}`);
    return a;
  };
  const probes: number[] = []; // slots with an admitted half-open attempt outstanding
  let transitions = 0, halfOpen = 0;
  let timeoutMs = random.int(1, 5000);

  for (let s = 0; s < capacity; s++) {
    if (!random.chance(0.8)) continue;
    const initial = spec({ hardLimit: random.int(0, 6) });
    for (const e of engines) e.setSlot(s, initial);
  }

  for (op = 0; op < OPS; op++) {
    const slot = random.int(0, capacity - 1);
    const r = random.next();
    if (random.chance(0.3)) nowMs += random.pick([0, 1, random.int(1, 100), random.int(100, 8000)]);
    if (random.chance(0.02)) timeoutMs = random.int(1, 5000);
    if (r < 0.25) {
      what = `failure(${slot})`;
      const threshold = random.int(1, 4);
      const t = same(what, (e) => e.circuitFailure(slot, nowMs, threshold));
      if (t !== NO_TRANSITION) transitions++;
    } else if (r < 0.45) {
      what = `success(${slot})`;
      const probe = probes.includes(slot) && random.chance(0.8);
      if (probe) probes.splice(probes.indexOf(slot), 1);
      const threshold = random.int(1, 4);
      const t = same(what, (e) => e.circuitSuccess(slot, threshold, probe));
      if (t !== NO_TRANSITION) transitions++;
    } else if (r < 0.6) {
      what = `admit(${slot})`;
      const before = same("state", (e) => e.circuitState(slot));
      const limit = random.int(1, 3);
      if (same(what, (e) => e.circuitAdmit(slot, limit)) && before === CircuitState.HALF_OPEN) probes.push(slot);
    } else if (r < 0.75) {
      what = "advance";
      const moved = same(what, (e) => advanceAll(e, nowMs, timeoutMs));
      transitions += moved.length;
      halfOpen += moved.length;
    } else if (r < 0.85) {
      what = "select";
      const seedValue = random.int(0, 0xffffffff);
      const chosen = same(what, (e) => e.select(0, 1, 0, seedValue));
      if (chosen >= 0 && random.chance(0.5)) same("acquire", (e) => e.acquire(chosen));
    } else if (r < 0.9) {
      what = `release(${slot})`;
      for (const e of engines) e.release(slot);
    } else if (r < 0.95) {
      what = `setSlot(${slot})`;
      const s = spec({ healthy: random.chance(0.9), hardLimit: random.int(0, 6) });
      for (const e of engines) e.setSlot(slot, s);
    } else if (r < 0.99) {
      what = `clearSlot(${slot})`;
      for (const e of engines) e.clearSlot(slot);
    } else {
      what = "resetCircuits";
      for (const e of engines) e.resetCircuits();
    }
    for (let s = 0; s < capacity; s++) {
      same(`circuitState(${s})`, (e) => e.circuitState(s));
      same(`isCandidate(${s})`, (e) => e.isCandidate(s));
    }
  }
  return { transitions, halfOpen };
}

test(`WASM circuits match the reference on ${SEQUENCES} random event sequences`, () => {
  const only = process.env.SEQUENCE_SEED;
  const seeds = only !== undefined ? [Number(only)] : Array.from({ length: SEQUENCES }, (_, i) => 0xc1c0 + i * 7919);
  let transitions = 0, halfOpen = 0;
  for (const seed of seeds) {
    const r = runSequence(seed);
    transitions += r.transitions;
    halfOpen += r.halfOpen;
  }
  // The sequences must actually drive the machines through their states, not idle in "closed".
  if (only === undefined) assert.ok(transitions > 5_000 && halfOpen > 1_000, `too few transitions: ${transitions} (${halfOpen} to half-open)`);
});

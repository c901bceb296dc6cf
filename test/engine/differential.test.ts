// Differential test: on thousands of random tables and operation sequences the WASM core must choose
// exactly what the reference engine chooses (same inputs, same seeds) and agree on every other answer.
// A failure names the table seed; TABLE_SEED=<n> reruns just that table.

import { test } from "node:test";
import assert from "node:assert/strict";
import type { SelectionEngine, SlotSpec } from "../../src/core/selection.ts";
import { ReferenceEngine } from "../../src/core/reference-engine.ts";
import { createWasmEngine } from "../../src/engine/wasm-engine.ts";
import { prng } from "./engine-fixtures.ts";

const TABLES = 2_500;
const TABLES_PER_TEST = 250;
const OPS_PER_TABLE = 60;
const SHAPES = ["mixed", "tied", "at-hard", "limits-one", "huge", "overloaded", "sparse"] as const;
type Shape = (typeof SHAPES)[number];
type Random = ReturnType<typeof prng>;

interface Table {
  readonly shape: Shape;
  readonly capacity: number;
  readonly countries: readonly number[];
  readonly regions: number;
}

function randomSpec(random: Random, table: Table): SlotSpec {
  const { shape } = table;
  const country = shape === "tied" ? table.countries[1]! : random.pick(table.countries);
  const region = shape === "tied" ? 1 : random.int(1, table.regions);
  const weight = shape === "huge" ? random.pick([1, 999_999, 1_000_000, random.int(1, 1_000_000)])
    : shape === "tied" ? random.pick([1, 2, 3, 1_000_000])
    : shape === "overloaded" ? random.pick([1, 1, 1, 2])
    : random.int(1, 5);
  const softLimit = shape === "limits-one" ? 1
    : shape === "huge" ? random.pick([1, 1_000_000, random.int(1, 1_000_000)])
    : shape === "overloaded" ? random.int(1, 2)
    : random.int(1, 30);
  const hardLimit = shape === "limits-one" ? random.pick([0, 1, 1, 1])
    : shape === "overloaded" ? random.int(200, 900)
    : shape === "huge" ? random.pick([softLimit, 1_000_000])
    : random.int(Math.max(0, softLimit - 2), softLimit * 2 + 3);
  return {
    country,
    region,
    local: random.chance(0.3),
    healthy: shape === "tied" ? true : random.chance(0.85),
    weight,
    softLimit,
    hardLimit,
  };
}

/** Active connections to open on a fresh slot, by shape (bounded so tables build quickly). */
function initialLoad(random: Random, table: Table, spec: SlotSpec): number {
  switch (table.shape) {
    case "tied": return 0;
    case "at-hard": return Math.min(spec.hardLimit, 300);
    // Loads of 200+ (active / sw) take the scan's "compare exactly" path.
    case "overloaded": return random.chance(0.7) ? random.int(150, Math.min(spec.hardLimit, 700)) : random.int(0, 3);
    case "huge": return random.int(0, 40);
    default: return random.chance(0.3) ? 0 : random.int(0, Math.min(spec.hardLimit, 40));
  }
}

function checkEqual(what: string, reference: unknown, wasm: unknown, where: () => string): void {
  if (reference !== wasm) assert.fail(`${what}: reference ${String(reference)} vs wasm ${String(wasm)} — ${where()}`);
}

function runTable(tableSeed: number): number {
  const random = prng(tableSeed);
  let size = random.chance(0.15) ? random.int(1, 8) : Math.min(2_000, Math.floor(Math.exp(random.next() * Math.log(2_000))));
  const shape = random.pick(SHAPES);
  if (shape === "overloaded") size = Math.min(size, 64); // each slot takes hundreds of acquires
  const countries = [0, ...Array.from({ length: random.int(1, 6) }, (_, i) => 0x4141 + i * 7)];
  const table: Table = { shape, capacity: size + random.int(0, 40), countries, regions: random.int(1, 5) };
  const reference = new ReferenceEngine(table.capacity);
  const wasm = createWasmEngine(table.capacity);
  const both = (f: (e: SelectionEngine) => void): void => { f(reference); f(wasm); };
  let op = -1;
  const where = (): string => `table seed ${tableSeed} (${shape}, ${size} slots), op ${op}`;

  for (let slot = 0; slot < size; slot++) {
    if (random.chance(shape === "sparse" ? 0.6 : 0.05)) continue;
    const spec = randomSpec(random, table);
    both((e) => e.setSlot(slot, spec));
    const load = initialLoad(random, table, spec);
    for (let i = 0; i < load; i++) checkEqual("acquire", reference.acquire(slot), wasm.acquire(slot), where);
  }

  let attempts = 1;
  let selects = 0;
  const anySlot = (): number => random.int(0, table.capacity - 1);
  for (op = 0; op < OPS_PER_TABLE; op++) {
    const kind = random.next();
    if (kind < 0.4) {
      const clientCountry = random.chance(0.1) ? random.pick([0xffff, 0x1_0000 + countries[1]!, -1]) : random.pick(countries);
      const clientRegion = random.chance(0.1) ? random.pick([0, 0xffff, 7]) : random.int(1, table.regions);
      const attempt = random.chance(0.5) ? 0 : random.int(1, attempts);
      for (let draw = 0; draw < 3; draw++) {
        const seed = random.pick([0, 1, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff, Math.floor(random.next() * 2 ** 32)]);
        const choice = reference.select(clientCountry, clientRegion, attempt, seed);
        checkEqual(`select(${clientCountry}, ${clientRegion}, ${attempt}, ${seed})`, choice, wasm.select(clientCountry, clientRegion, attempt, seed), where);
        selects++;
      }
    } else if (kind < 0.55) {
      const slot = anySlot();
      const times = shape === "overloaded" ? random.int(1, 50) : 1;
      for (let i = 0; i < times; i++) checkEqual(`acquire(${slot})`, reference.acquire(slot), wasm.acquire(slot), where);
    } else if (kind < 0.68) {
      const slot = anySlot();
      const times = random.int(1, 3);
      for (let i = 0; i < times; i++) both((e) => e.release(slot));
    } else if (kind < 0.76) {
      const slot = anySlot(), attempt = random.chance(0.7) ? attempts : ++attempts;
      both((e) => e.markTried(slot, attempt));
    } else if (kind < 0.79) {
      const slot = anySlot(), healthy = random.chance(0.5);
      both((e) => e.setHealthy(slot, healthy));
    } else if (kind < 0.82) {
      const slot = anySlot(), down = random.chance(0.5);
      both((e) => e.setProbeDown(slot, down));
    } else if (kind < 0.9) {
      const slot = anySlot(), spec = randomSpec(random, table);
      both((e) => e.setSlot(slot, spec));
    } else if (kind < 0.94) {
      const slot = anySlot();
      both((e) => e.clearSlot(slot));
    } else {
      const slot = anySlot();
      checkEqual(`isCandidate(${slot})`, reference.isCandidate(slot), wasm.isCandidate(slot), where);
      checkEqual(`active(${slot})`, reference.active(slot), wasm.active(slot), where);
    }
  }
  op = OPS_PER_TABLE;
  for (let slot = 0; slot < table.capacity; slot++) {
    checkEqual(`isCandidate(${slot})`, reference.isCandidate(slot), wasm.isCandidate(slot), where);
    checkEqual(`active(${slot})`, reference.active(slot), wasm.active(slot), where);
  }
  return selects;
}

const only = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env.TABLE_SEED;
if (only !== undefined) {
  test(`WASM core and reference agree on table seed ${only}`, () => {
    runTable(Number(only));
  });
} else {
  // Chunks keep each test well inside bun's default 5 s per-test timeout.
  for (let chunk = 0; chunk < TABLES / TABLES_PER_TEST; chunk++) {
    const first = chunk * TABLES_PER_TEST;
    test(`WASM core and reference agree on random tables ${first}..${first + TABLES_PER_TEST - 1}`, () => {
      let selects = 0;
      for (let i = first; i < first + TABLES_PER_TEST; i++) selects += runTable(0x5eed_0000 + i);
      assert.ok(selects > TABLES_PER_TEST * 20, `only ${selects} selects were compared`);
    });
  }
}

test("WASM core and reference agree on the largest table with many ties", () => {
  const random = prng(42);
  const capacity = 65_536;
  const reference = new ReferenceEngine(capacity);
  const wasm = createWasmEngine(capacity);
  for (let slot = 0; slot < capacity; slot += random.int(1, 3)) {
    const spec = { country: random.pick([0, 0x4252, 0x5553]), region: random.int(1, 3), local: random.chance(0.2), healthy: random.chance(0.95), weight: random.int(1, 4), softLimit: 10, hardLimit: 15 };
    reference.setSlot(slot, spec);
    wasm.setSlot(slot, spec);
  }
  for (let i = 0; i < 200; i++) {
    const country = random.pick([0, 0x4252, 0x5553]), region = random.int(0, 3), seed = Math.floor(random.next() * 2 ** 32);
    const slot = reference.select(country, region, 0, seed);
    assert.equal(wasm.select(country, region, 0, seed), slot, `query ${i}`);
    if (slot >= 0) {
      assert.equal(reference.acquire(slot), true);
      assert.equal(wasm.acquire(slot), true);
    }
  }
});

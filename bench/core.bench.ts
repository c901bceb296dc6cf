// ns per selection decision, WASM core vs TypeScript reference, on identical realistic tables and
// queries. Runs unchanged on all three runtimes:
//   node bench/core.bench.ts  |  bun bench/core.bench.ts  |  deno run -A bench/core.bench.ts

import type { SelectionEngine } from "../src/core/selection.ts";
import { ReferenceEngine } from "../src/core/reference-engine.ts";
import { COUNTRY_REGIONS, countryCode } from "../src/core/regions.ts";
import { createWasmEngine } from "../src/engine/wasm-engine.ts";

const SIZES = [8, 64, 1_024, 10_000];
const QUERIES = 4_096;
const ROUNDS = 9;
const ROUND_MS = 40;
const REGION_IDS: Readonly<Record<string, number>> = { sa: 1, us: 2, eu: 3, ap: 4 };
const POP_REGION = "sa";
const COUNTRIES = Object.keys(COUNTRY_REGIONS);

function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Query { readonly country: number; readonly region: number; readonly attempt: number; readonly seed: number }
interface Workload { readonly queries: readonly Query[]; readonly tried: readonly (readonly [slot: number, attempt: number])[] }

/** A POP's table: backends over 46 countries / 4 regions, mixed weights and limits, some load. */
function fillTable(engines: readonly SelectionEngine[], size: number, random: () => number): void {
  for (let slot = 0; slot < size; slot++) {
    if (random() < 0.02) continue; // a few removed backends leave holes
    const country = COUNTRIES[Math.floor(random() * COUNTRIES.length)]!;
    const region = COUNTRY_REGIONS[country]!;
    const softLimit = 50 + Math.floor(random() * 150);
    const spec = {
      country: random() < 0.1 ? 0 : countryCode(country),
      region: REGION_IDS[region]!,
      local: region === POP_REGION,
      healthy: random() > 0.05,
      weight: 1 + Math.floor(random() * 4),
      softLimit,
      hardLimit: Math.floor(softLimit * 1.5),
    };
    const load = random() < 0.3 ? 0 : Math.floor(random() * softLimit * 0.9);
    for (const engine of engines) {
      engine.setSlot(slot, spec);
      for (let i = 0; i < load; i++) engine.acquire(slot);
    }
  }
}

function workload(size: number, random: () => number): Workload {
  const queries: Query[] = [];
  const tried: (readonly [number, number])[] = [];
  for (let i = 0; i < QUERIES; i++) {
    const known = random() < 0.9;
    const country = COUNTRIES[Math.floor(random() * COUNTRIES.length)]!;
    const attempt = i + 1;
    // One decision in 20 is a retry that skips a slot an earlier attempt tried.
    if (random() < 0.05) tried.push([Math.floor(random() * size), attempt]);
    queries.push({
      country: known ? countryCode(country) : 0,
      region: known ? REGION_IDS[COUNTRY_REGIONS[country]!]! : 0,
      attempt,
      seed: Math.floor(random() * 2 ** 32),
    });
  }
  return { queries, tried };
}

function run(engine: SelectionEngine, queries: readonly Query[], count: number): number {
  let checksum = 0;
  for (let i = 0; i < count; i++) {
    const q = queries[i % QUERIES]!;
    checksum += engine.select(q.country, q.region, q.attempt, q.seed);
  }
  return checksum;
}

/** Decisions that take about ROUND_MS on this engine and table. */
function calibrate(engine: SelectionEngine, queries: readonly Query[]): number {
  let count = 64;
  for (;;) {
    const start = performance.now();
    run(engine, queries, count);
    const elapsed = performance.now() - start;
    if (elapsed >= ROUND_MS / 4) return Math.max(QUERIES, Math.ceil((count * ROUND_MS) / elapsed));
    count *= 4;
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function measure(size: number): { reference: number; wasm: number } {
  const random = mulberry32(size * 7919);
  const reference = new ReferenceEngine(size);
  const wasm = createWasmEngine(size);
  fillTable([reference, wasm], size, random);
  const { queries, tried } = workload(size, random);
  for (const [slot, attempt] of tried) {
    reference.markTried(slot, attempt);
    wasm.markTried(slot, attempt);
  }
  // Same inputs must give the same choices, or the comparison means nothing.
  if (run(reference, queries, QUERIES) !== run(wasm, queries, QUERIES)) throw new Error(`engines disagree at ${size} backends`);

  const engines = { reference, wasm };
  const counts = { reference: calibrate(reference, queries), wasm: calibrate(wasm, queries) };
  const samples: { reference: number[]; wasm: number[] } = { reference: [], wasm: [] };
  for (const name of ["reference", "wasm"] as const) run(engines[name], queries, counts[name]); // warm-up
  for (let round = 0; round < ROUNDS; round++) {
    for (const name of ["reference", "wasm"] as const) {
      const start = performance.now();
      run(engines[name], queries, counts[name]);
      samples[name].push(((performance.now() - start) * 1e6) / counts[name]);
    }
  }
  return { reference: median(samples.reference), wasm: median(samples.wasm) };
}

function runtimeName(): string {
  const g = globalThis as { Bun?: { version: string }; Deno?: { version: { deno: string } }; process?: { version: string } };
  if (g.Bun) return `bun ${g.Bun.version}`;
  if (g.Deno) return `deno ${g.Deno.version.deno}`;
  return `node ${g.process?.version ?? "?"}`;
}

const rows = SIZES.map((size) => ({ size, ...measure(size) }));
console.log(`edgeProxy core selection — ${runtimeName()} — median of ${ROUNDS} rounds, ns/decision`);
console.log("backends | reference ns | wasm ns | reference/wasm");
console.log("-------: | -----------: | ------: | -------------:");
for (const { size, reference, wasm } of rows) {
  console.log(`${String(size).padStart(8)} | ${reference.toFixed(1).padStart(12)} | ${wasm.toFixed(1).padStart(7)} | ${(reference / wasm).toFixed(2).padStart(13)}x`);
}

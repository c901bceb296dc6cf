// Shared by the engine tests: both engines behind one name, spec shorthand, a seeded PRNG.

import type { SelectionEngine, SlotSpec } from "../../src/core/selection.ts";
import { ReferenceEngine } from "../../src/core/reference-engine.ts";
import { createWasmEngine } from "../../src/engine/wasm-engine.ts";

export const ENGINES: readonly (readonly [name: string, create: (capacity: number) => SelectionEngine])[] = [
  ["reference", (capacity) => new ReferenceEngine(capacity)],
  ["wasm", (capacity) => createWasmEngine(capacity)],
];

export const BR = 0x4252, AR = 0x4152, US = 0x5553, DE = 0x4445;
export const SA = 1, NA = 2, EU = 3;

/** An idle-able healthy backend in region SA, no country, weight 1, limits 10/20, unless overridden. */
export function spec(overrides: Partial<SlotSpec> = {}): SlotSpec {
  return { country: 0, region: SA, local: false, healthy: true, weight: 1, softLimit: 10, hardLimit: 20, ...overrides };
}

export function acquireTimes(engine: SelectionEngine, slot: number, times: number): void {
  for (let i = 0; i < times; i++) {
    if (!engine.acquire(slot)) throw new Error(`acquire(${slot}) refused after ${i} of ${times}`);
  }
}

/** mulberry32: small, seedable, good enough to generate test tables reproducibly. */
export function prng(seed: number): { next(): number; int(min: number, max: number): number; pick<T>(items: readonly T[]): T; chance(p: number): boolean } {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    pick: (items) => items[Math.floor(next() * items.length)]!,
    chance: (p) => next() < p,
  };
}

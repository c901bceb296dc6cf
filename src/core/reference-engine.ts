// The selection policy of selection.ts in plain TypeScript: the oracle the WASM core is tested against
// and the benchmark baseline. Written to be obviously correct; the WASM core is the one written for speed.

import type { SelectionEngine, SlotSpec } from "./selection.ts";
import { assertCount } from "./circuit.ts";
import { CircuitReference } from "./circuit-reference.ts";

/** Upper bound of weight, soft and hard limits (the store validates the same bound). */
export const SLOT_VALUE_MAX = 1_000_000;
/** Country and region codes a slot may hold; 0xFFFF is kept free as "matches nothing". */
export const SLOT_CODE_MAX = 0xfffe;

function checkInteger(slot: number, field: string, value: unknown, min: number, max: number): void {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`[edgeproxy] slot ${slot}: ${field} must be an integer in ${min}..${max}, got ${String(value)}`);
  }
}

/** Throws a RangeError naming the field when a slot spec is outside what both engines represent exactly. */
export function assertSlotSpec(slot: number, spec: SlotSpec): void {
  checkInteger(slot, "country", spec.country, 0, SLOT_CODE_MAX);
  checkInteger(slot, "region", spec.region, 1, SLOT_CODE_MAX);
  checkInteger(slot, "weight", spec.weight, 1, SLOT_VALUE_MAX);
  checkInteger(slot, "softLimit", spec.softLimit, 1, SLOT_VALUE_MAX);
  checkInteger(slot, "hardLimit", spec.hardLimit, 0, SLOT_VALUE_MAX);
}

/** Throws a RangeError unless `slot` is an integer in [0, capacity). */
export function assertSlot(slot: number, capacity: number): void {
  if (!(Number.isInteger(slot) && slot >= 0 && slot < capacity)) {
    throw new RangeError(`[edgeproxy] slot must be an integer in 0..${capacity - 1}, got ${String(slot)}`);
  }
}

export function xorshift32(x: number): number {
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  return x >>> 0;
}

/** Sign of a*b - c*d for non-negative integers, exact even when the products pass 2^53. */
function compareProducts(a: number, b: number, c: number, d: number): number {
  const left = a * b, right = c * d;
  if (left <= Number.MAX_SAFE_INTEGER && right <= Number.MAX_SAFE_INTEGER) return left < right ? -1 : left > right ? 1 : 0;
  const bigLeft = BigInt(a) * BigInt(b), bigRight = BigInt(c) * BigInt(d);
  return bigLeft < bigRight ? -1 : bigLeft > bigRight ? 1 : 0;
}

/** A client code takes part in matching only inside 1..SLOT_CODE_MAX (0 = unknown). */
function matchable(code: number): number {
  code >>>= 0;
  return code >= 1 && code <= SLOT_CODE_MAX ? code : -1;
}

export class ReferenceEngine implements SelectionEngine {
  readonly capacity: number;
  readonly #present: Uint8Array;
  readonly #healthy: Uint8Array;
  readonly #probeDown: Uint8Array;
  readonly #local: Uint8Array;
  readonly #country: Uint16Array;
  readonly #region: Uint16Array;
  readonly #weight: Uint32Array;
  readonly #softLimit: Uint32Array;
  readonly #hardLimit: Uint32Array;
  readonly #active: Uint32Array;
  readonly #triedBy: Uint32Array;
  readonly #incarnation: Uint32Array;
  readonly #circuits: CircuitReference;
  /** One past the highest present slot: the scan stops there. */
  #top = 0;

  constructor(capacity: number) {
    if (!(Number.isInteger(capacity) && capacity >= 1)) {
      throw new RangeError(`[edgeproxy] capacity must be a positive integer, got ${String(capacity)}`);
    }
    this.capacity = capacity;
    this.#present = new Uint8Array(capacity);
    this.#healthy = new Uint8Array(capacity);
    this.#probeDown = new Uint8Array(capacity);
    this.#local = new Uint8Array(capacity);
    this.#country = new Uint16Array(capacity);
    this.#region = new Uint16Array(capacity);
    this.#weight = new Uint32Array(capacity);
    this.#softLimit = new Uint32Array(capacity);
    this.#hardLimit = new Uint32Array(capacity);
    this.#active = new Uint32Array(capacity);
    this.#triedBy = new Uint32Array(capacity);
    this.#incarnation = new Uint32Array(capacity);
    this.#circuits = new CircuitReference(capacity);
  }

  setSlot(slot: number, spec: SlotSpec): void {
    assertSlot(slot, this.capacity);
    assertSlotSpec(slot, spec);
    this.#present[slot] = 1;
    this.#healthy[slot] = spec.healthy ? 1 : 0;
    this.#local[slot] = spec.local ? 1 : 0;
    this.#country[slot] = spec.country;
    this.#region[slot] = spec.region;
    this.#weight[slot] = spec.weight;
    this.#softLimit[slot] = spec.softLimit;
    this.#hardLimit[slot] = spec.hardLimit;
    if (slot >= this.#top) this.#top = slot + 1;
  }

  clearSlot(slot: number): void {
    assertSlot(slot, this.capacity);
    this.#present[slot] = 0;
    this.#circuits.reset(slot);
    this.#probeDown[slot] = 0;
    this.#incarnation[slot]++;
    while (this.#top > 0 && this.#present[this.#top - 1] === 0) this.#top--;
  }

  setHealthy(slot: number, healthy: boolean): void {
    assertSlot(slot, this.capacity);
    this.#healthy[slot] = healthy ? 1 : 0;
  }

  setProbeDown(slot: number, down: boolean): void {
    assertSlot(slot, this.capacity);
    this.#probeDown[slot] = down ? 1 : 0;
  }

  isCandidate(slot: number): boolean {
    assertSlot(slot, this.capacity);
    return this.#candidate(slot);
  }

  isRoutable(slot: number): boolean {
    assertSlot(slot, this.capacity);
    return this.#routable(slot);
  }

  #routable(slot: number): boolean {
    return this.#present[slot] === 1 && this.#healthy[slot] === 1 && this.#probeDown[slot] === 0 && !this.#circuits.blocked(slot);
  }

  #candidate(slot: number): boolean {
    return this.#routable(slot) && this.#active[slot]! < this.#hardLimit[slot]!;
  }

  circuitState(slot: number): number {
    assertSlot(slot, this.capacity);
    return this.#circuits.state(slot);
  }

  circuitAdmit(slot: number, probeLimit: number): boolean {
    assertSlot(slot, this.capacity);
    assertCount("probeLimit", probeLimit);
    return this.#circuits.admit(slot, probeLimit);
  }

  circuitSuccess(slot: number, successThreshold: number, probe: boolean): number {
    assertSlot(slot, this.capacity);
    assertCount("successThreshold", successThreshold);
    return this.#circuits.success(slot, successThreshold, probe);
  }

  circuitFailure(slot: number, nowMs: number, failureThreshold: number): number {
    assertSlot(slot, this.capacity);
    assertCount("failureThreshold", failureThreshold);
    return this.#circuits.failure(slot, nowMs, failureThreshold, this.#present[slot] === 1);
  }

  advanceCircuit(from: number, nowMs: number, timeoutMs: number): number {
    return this.#circuits.advance(from, this.#top, nowMs, timeoutMs);
  }

  resetCircuits(): void {
    this.#circuits.resetAll();
  }

  acquire(slot: number): boolean {
    assertSlot(slot, this.capacity);
    if (this.#present[slot] === 0 || this.#active[slot]! >= this.#hardLimit[slot]!) return false;
    this.#active[slot]++;
    return true;
  }

  release(slot: number): void {
    assertSlot(slot, this.capacity);
    if (this.#active[slot]! > 0) this.#active[slot]--;
  }

  active(slot: number): number {
    assertSlot(slot, this.capacity);
    return this.#active[slot]!;
  }

  incarnation(slot: number): number {
    assertSlot(slot, this.capacity);
    return this.#incarnation[slot]!;
  }

  markTried(slot: number, attempt: number): void {
    assertSlot(slot, this.capacity);
    this.#triedBy[slot] = attempt >>> 0;
  }

  select(clientCountry: number, clientRegion: number, attempt: number, seed: number): number {
    const country = matchable(clientCountry), region = matchable(clientRegion);
    attempt >>>= 0;
    let rng = seed >>> 0 || 1;
    let chosen = -1;
    // The best score so far, as the exact fraction bestScaled / bestSw.
    let bestScaled = 0, bestSw = 1, tieWeight = 0;
    const present = this.#present, healthy = this.#healthy, probeDown = this.#probeDown, local = this.#local;
    const countries = this.#country, regions = this.#region, weights = this.#weight;
    const softLimits = this.#softLimit, hardLimits = this.#hardLimit, actives = this.#active, triedBy = this.#triedBy;
    for (let slot = 0, top = this.#top; slot < top; slot++) {
      const active = actives[slot]!;
      if (present[slot] !== 1 || healthy[slot] !== 1 || probeDown[slot] !== 0 || active >= hardLimits[slot]! || this.#circuits.blocked(slot)) continue;
      if (attempt !== 0 && triedBy[slot] === attempt) continue;
      // tier 0: same country; 1: same region as the client; 2: this POP's region; 3: elsewhere.
      const tier = countries[slot] === country ? 0 : regions[slot] === region ? 1 : local[slot] === 1 ? 2 : 3;
      // score = tier * 100 + (active / softLimit) / weight = scaled / sw, with sw = softLimit * weight.
      const weight = weights[slot]!;
      const sw = softLimits[slot]! * weight;
      const scaled = tier * 100 * sw + active;
      const order = chosen < 0 ? -1 : compareProducts(scaled, bestSw, bestScaled, sw);
      if (order < 0) {
        chosen = slot;
        bestScaled = scaled;
        bestSw = sw;
        tieWeight = weight;
      } else if (order === 0) {
        tieWeight += weight;
        rng = xorshift32(rng);
        if (rng % tieWeight < weight) chosen = slot;
      }
    }
    return chosen;
  }
}

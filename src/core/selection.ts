// The selection policy's interface. Two implementations: the WASM core (src/engine/, production)
// and the TypeScript reference (src/core/reference-engine.ts, the oracle for differential tests).
//
// Backends live in numbered slots [0, capacity). A slot keeps its live counters (active
// connections, circuit) across route-snapshot swaps; only its attributes are rewritten.
//
// Policy (DESIGN.md): candidates are slots that are present, healthy, circuit not open, not probed down, not yet tried
// by this attempt, and active < hardLimit. Lower score wins:
//     score = tier * 100 + (active / softLimit) / weight
// tier 0: backend country == client country; 1: backend region == client region;
//      2: backend region == this POP's region; 3: anything else.
// Scores are compared exactly (cross-multiplied integers: active_a * sw_b vs active_b * sw_a with
// sw = softLimit * weight), never as floats. Exact ties are broken in proportion to weight by a
// weighted reservoir draw over the tied slots, driven by a xorshift32 stream seeded with `seed`:
//     on a strictly better candidate: chosen = it, tieWeight = weight
//     on a tie: tieWeight += weight; seed = xorshift32(seed); if (seed % tieWeight) < weight: chosen = it
// where xorshift32(x) = (x ^= x << 13, x ^= x >>> 17, x ^= x << 5) as u32; a seed of 0 is replaced by 1.

import type { CircuitTable } from "./circuit.ts";

export interface SlotSpec {
  /** countryCode() of the backend's country, 0 = none. */
  readonly country: number;
  /** Interned region id (>= 1). */
  readonly region: number;
  /** Backend region == this POP's region. */
  readonly local: boolean;
  readonly healthy: boolean;
  readonly weight: number;
  readonly softLimit: number;
  readonly hardLimit: number;
}

/** Also the per-slot circuit breakers (circuit.ts): an open circuit takes the slot out of selection. */
export interface SelectionEngine extends CircuitTable {
  readonly capacity: number;
  /** Write a slot's attributes and mark it present; live counters are kept. */
  setSlot(slot: number, spec: SlotSpec): void;
  /** Mark a slot absent (no longer selectable); its active count stays until released. */
  clearSlot(slot: number): void;
  /** Override health without rewriting the slot (health checks, circuit opening). */
  setHealthy(slot: number, healthy: boolean): void;
  /** Active health check result for the slot's backend: down = not a candidate. Kept by setSlot
   *  (a backend that changed is rewritten in the same slot), dropped by clearSlot (the backend left). */
  setProbeDown(slot: number, down: boolean): void;
  /**
   * Best candidate for a client, or -1. Does not reserve: call acquire() on the result.
   * clientCountry: countryCode() or 0; clientRegion: interned id or 0; attempt: id of this
   * connection's attempt sequence (slots marked with markTried(slot, attempt) are skipped);
   * seed: random u32 for tie-breaking.
   */
  select(clientCountry: number, clientRegion: number, attempt: number, seed: number): number;
  /** Whether the slot is a candidate now (used to keep or break an affinity binding). */
  isCandidate(slot: number): boolean;
  /**
   * "Routable": present, healthy in the store, not probed down by the active health check, circuit not
   * open (open, or half-open with every probe in flight). The candidate rule less the momentary
   * hard-limit check, read from the same flags the selection scan uses: the one definition behind
   * /health, edgeproxy_backends_routable, the connection pool and `db show`.
   */
  isRoutable(slot: number): boolean;
  /** Reserve one connection on the slot; false if the slot is at its hard limit or not present. */
  acquire(slot: number): boolean;
  release(slot: number): void;
  active(slot: number): number;
  markTried(slot: number, attempt: number): void;
  /** Bumped each time the slot's backend leaves (clearSlot): a binding to slot + incarnation dies with it. */
  incarnation(slot: number): number;
}

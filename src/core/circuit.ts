// Circuit breaker policy (DESIGN.md "Infrastructure"), one circuit per backend slot:
//
//   closed ──failureThreshold consecutive connect failures──► open ──timeoutMs after opening──► half-open
//     ▲      (a success ends the run of failures)                ▲                                  │
//     └──────────successThreshold probe successes────────────────┼───────────any failure───────────┘
//
// Half-open admits at most probeLimit connection attempts ("probes") in flight at once; its other
// clients go elsewhere. "Blocked" (FLAG_CIRCUIT_OPEN in the WASM core) = open, or half-open with every
// probe in flight: the slot is then no candidate for selection or affinity reuse. Outcomes of attempts
// that were not admitted as probes do not count as half-open successes (they started before the
// circuit opened); late outcomes while open are ignored; an absent slot's circuit stays closed.
// Two implementations: the WASM core (assembly/circuit.ts) and CircuitReference (circuit-reference.ts).

export const CircuitState = { CLOSED: 0, OPEN: 1, HALF_OPEN: 2 } as const;
export type CircuitState = (typeof CircuitState)[keyof typeof CircuitState];
/** Names of the states, indexed by CircuitState (log fields, metric labels). */
export const CIRCUIT_STATE_NAMES = ["closed", "open", "half-open"] as const;

/** What the outcome calls return when the state did not change. */
export const NO_TRANSITION = -1;

/** Counts are 16-bit in the WASM record: thresholds and probe limits stay within this. */
export const CIRCUIT_COUNT_MAX = 0xffff;

export interface CircuitSettings {
  readonly enabled: boolean;
  readonly failureThreshold: number;
  readonly successThreshold: number;
  readonly timeoutMs: number;
  /** Probes in flight at once while half-open. */
  readonly halfOpenProbes: number;
}

/** The per-slot circuit operations both engines provide (time and thresholds passed in). */
export interface CircuitTable {
  /** CircuitState of the slot. */
  circuitState(slot: number): number;
  /** May an attempt on this (chosen, acquired) slot go ahead? Half-open: counts it as a probe. */
  circuitAdmit(slot: number, probeLimit: number): boolean;
  /** A connect succeeded; `probe` = it was admitted while half-open. Returns the new state or NO_TRANSITION. */
  circuitSuccess(slot: number, successThreshold: number, probe: boolean): number;
  /** A connect failed or timed out. Returns the new state or NO_TRANSITION. */
  circuitFailure(slot: number, nowMs: number, failureThreshold: number): number;
  /** First open slot in [from, top) whose timeout passed, now half-open; -1 when none is left. */
  advanceCircuit(from: number, nowMs: number, timeoutMs: number): number;
  /** Close every circuit (the breaker was switched off). */
  resetCircuits(): void;
}

/** Throws a RangeError unless `value` is an integer in 1..CIRCUIT_COUNT_MAX. */
export function assertCount(name: string, value: number): void {
  if (!(Number.isInteger(value) && value >= 1 && value <= CIRCUIT_COUNT_MAX)) {
    throw new RangeError(`[edgeproxy] ${name} must be an integer in 1..${CIRCUIT_COUNT_MAX}, got ${String(value)}`);
  }
}

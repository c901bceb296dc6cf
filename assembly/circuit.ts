// Per-backend circuit breakers: the policy of src/core/circuit.ts (the reference, circuit-reference.ts,
// is the oracle). One 64-bit word per slot in the CIRCUIT region (drawn in layout.ts), changed by one
// CAS per event: when several instances see the same event, exactly one of them makes (and reports) the
// transition. FLAG_CIRCUIT_OPEN is derived from the word by settle(): "the circuit keeps this slot out of
// selection and affinity" — open, or half-open with every probe in flight. Thresholds and time arrive as
// arguments, so a settings reload applies at the next call. Outcome functions return the new state on a
// transition, NO_TRANSITION otherwise.

import { header, Header, LANE, LANE_SWEEP_MIN, LANE_SWEEP_START, CIRCUIT, FLAGS, FLAG_PRESENT } from "./layout";
import { settle, CIRCUIT_OPEN_BIT, CIRCUIT_BLOCKED_BIT } from "./slots";

export const CIRCUIT_CLOSED: u8 = 0;
export const CIRCUIT_OPEN: u8 = 1;
export const CIRCUIT_HALF_OPEN: u8 = 2;
export const NO_TRANSITION: i32 = -1;

const STATE_MASK: u64 = 3;
const PROBES_SHIFT: u64 = 8;
const FAILURES_SHIFT: u64 = 24;
const SUCCESSES_SHIFT: u64 = 40;
const COUNT_MAX: u64 = 0xffff;
const HALF_OPEN_WORD: u64 = <u64>CIRCUIT_HALF_OPEN;

// @ts-ignore: decorator
@inline function at(slot: u32): usize {
  return CIRCUIT + (<usize>slot << 3);
}

// @ts-ignore: decorator
@inline function count(word: u64, shift: u64): u64 {
  return (word >> shift) & COUNT_MAX;
}

// @ts-ignore: decorator
@inline function withCount(word: u64, shift: u64, value: u64): u64 {
  return (word & ~(COUNT_MAX << shift)) | (min(value, COUNT_MAX) << shift);
}

/** The word of a circuit opened at nowMs (negative times are kept as their magnitude). */
// @ts-ignore: decorator
@inline function openWord(nowMs: f64): u64 {
  return CIRCUIT_OPEN_BIT | (reinterpret<u64>(nowMs) & ~CIRCUIT_OPEN_BIT);
}

// @ts-ignore: decorator
@inline function stateOf(word: u64): i32 {
  return (word & CIRCUIT_OPEN_BIT) != 0 ? CIRCUIT_OPEN : <i32>(word & STATE_MASK);
}

const EARLIEST: usize = changetype<usize>(header) + offsetof<Header>("earliestOpenMs");

/** earliestOpenMs = min(earliestOpenMs, t): positive f64s order as their bits do. */
function lowerEarliest(t: f64): void {
  const bits = reinterpret<u64>(t);
  let seen = atomic.load<u64>(EARLIEST);
  while (reinterpret<f64>(seen) > t) {
    const was = atomic.cmpxchg<u64>(EARLIEST, seen, bits);
    if (was == seen) return;
    seen = was;
  }
}

export function circuitState(slot: u32): i32 {
  return stateOf(atomic.load<u64>(at(slot)));
}

/** Whether a connection may be tried now (the slot was chosen and acquired). Closed: yes. Open: no.
 *  Half-open: yes while fewer than probeLimit probes are in flight, and the attempt is a probe. */
export function circuitAdmit(slot: u32, probeLimit: u32): bool {
  const p = at(slot);
  let word = atomic.load<u64>(p);
  while (true) {
    const state = stateOf(word);
    if (state == CIRCUIT_CLOSED) return true;
    if (state == CIRCUIT_OPEN) return false;
    const probes = count(word, PROBES_SHIFT);
    const admitted = probes < <u64>probeLimit;
    let next = admitted ? withCount(word, PROBES_SHIFT, probes + 1) : word;
    next = (admitted ? probes + 1 : probes) >= <u64>probeLimit ? next | CIRCUIT_BLOCKED_BIT : next & ~CIRCUIT_BLOCKED_BIT;
    if (next == word) return admitted;
    const seen = atomic.cmpxchg<u64>(p, word, next);
    if (seen == word) {
      if ((next ^ word) & CIRCUIT_BLOCKED_BIT) settle(<usize>slot);
      return admitted;
    }
    word = seen;
  }
}

/** A connect succeeded. Closed: the failure run ends. Half-open: a probe's success counts, and
 *  successThreshold of them close the circuit. Open: a late answer to an earlier attempt, ignored. */
export function circuitSuccess(slot: u32, successThreshold: u32, probe: bool): i32 {
  const p = at(slot);
  let word = atomic.load<u64>(p);
  while (true) {
    const state = stateOf(word);
    let next: u64;
    let to = NO_TRANSITION;
    if (state == CIRCUIT_CLOSED) {
      if (count(word, FAILURES_SHIFT) == 0) return NO_TRANSITION;
      next = withCount(word, FAILURES_SHIFT, 0);
    } else if (state == CIRCUIT_OPEN || !probe) {
      return NO_TRANSITION;
    } else {
      const probes = count(word, PROBES_SHIFT);
      const successes = count(word, SUCCESSES_SHIFT) + 1;
      if (successes >= <u64>successThreshold) {
        next = 0;
        to = CIRCUIT_CLOSED;
      } else {
        next = withCount(withCount(word, PROBES_SHIFT, probes > 0 ? probes - 1 : 0), SUCCESSES_SHIFT, successes) & ~CIRCUIT_BLOCKED_BIT;
      }
    }
    const seen = atomic.cmpxchg<u64>(p, word, next);
    if (seen == word) {
      if (state != CIRCUIT_CLOSED) settle(<usize>slot);
      return to;
    }
    word = seen;
  }
}

/** A connect failed or timed out. Closed: failureThreshold consecutive failures open the circuit.
 *  Half-open: any failure opens it again. Open: ignored (its timeout runs from the opening). Absent
 *  slot (a late answer after the backend left): ignored, so an absent slot's circuit stays closed. */
export function circuitFailure(slot: u32, nowMs: f64, failureThreshold: u32): i32 {
  const p = at(slot);
  let word = atomic.load<u64>(p);
  while (true) {
    const state = stateOf(word);
    if (state == CIRCUIT_OPEN || (atomic.load<u8>(FLAGS + <usize>slot) & FLAG_PRESENT) == 0) return NO_TRANSITION;
    let next: u64;
    if (state == CIRCUIT_HALF_OPEN) {
      next = openWord(nowMs);
    } else {
      const failures = count(word, FAILURES_SHIFT) + 1;
      next = failures >= <u64>failureThreshold ? openWord(nowMs) : withCount(word, FAILURES_SHIFT, failures);
    }
    const seen = atomic.cmpxchg<u64>(p, word, next);
    if (seen == word) {
      if ((next & CIRCUIT_OPEN_BIT) == 0) return NO_TRANSITION;
      lowerEarliest(reinterpret<f64>(next & ~CIRCUIT_OPEN_BIT));
      settle(<usize>slot);
      return CIRCUIT_OPEN;
    }
    word = seen;
  }
}

/** The first open circuit in [from, top) whose timeout has passed becomes half-open; returns its slot,
 *  or -1 when there is none left. The host calls from 0, then from the returned slot + 1. A sweep that
 *  reaches the end records when the next circuit falls due (unless a circuit opened meanwhile), so calls
 *  before then return at once. Each instance sweeps with its own running minimum (its lane). */
export function advanceCircuit(from: u32, nowMs: f64, timeoutMs: f64): i32 {
  if (from == 0) {
    const earliest = atomic.load<u64>(EARLIEST);
    if (nowMs < reinterpret<f64>(earliest) + timeoutMs) return -1;
    store<u64>(LANE + LANE_SWEEP_START, earliest);
    store<f64>(LANE + LANE_SWEEP_MIN, Infinity);
  }
  const top = atomic.load<u32>(changetype<usize>(header) + offsetof<Header>("top"));
  let sweep = load<f64>(LANE + LANE_SWEEP_MIN);
  for (let slot = from; slot < top; slot++) {
    const p = at(slot);
    const word = atomic.load<u64>(p);
    if ((word & CIRCUIT_OPEN_BIT) == 0) continue;
    const openedAt = reinterpret<f64>(word & ~CIRCUIT_OPEN_BIT);
    if (nowMs >= openedAt + timeoutMs) {
      if (atomic.cmpxchg<u64>(p, word, HALF_OPEN_WORD) == word) {
        settle(<usize>slot);
        store<f64>(LANE + LANE_SWEEP_MIN, sweep);
        return <i32>slot;
      }
      slot--; // changed under us: look at it again
      continue;
    }
    if (openedAt < sweep) sweep = openedAt;
  }
  // Raise the bound only if no circuit opened since this sweep began (it would have lowered it).
  atomic.cmpxchg<u64>(EARLIEST, load<u64>(LANE + LANE_SWEEP_START), reinterpret<u64>(sweep));
  return -1;
}

/** Every circuit closed (the breaker was switched off). */
export function resetCircuits(): void {
  const padded = header.padded;
  for (let slot: u32 = 0; slot < padded; slot++) {
    const p = at(slot);
    if (atomic.load<u64>(p) != 0) {
      atomic.store<u64>(p, 0);
      settle(<usize>slot);
    }
  }
  atomic.store<u64>(EARLIEST, reinterpret<u64>(Infinity));
}

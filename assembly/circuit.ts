// Per-backend circuit breakers: the policy of src/core/circuit.ts (the reference, circuit-table.ts, is
// the oracle). One 16-byte record per slot in the CIRCUIT region (drawn in layout.ts). FLAG_CIRCUIT_OPEN
// means "the circuit keeps this slot out of selection and affinity": set while open, and while half-open
// with every probe in flight. Thresholds and time arrive as arguments, so a settings reload applies at
// the next call. Outcome functions return the new state on a transition, NO_TRANSITION otherwise.

import { header, CIRCUIT, CIRCUIT_BYTES, FLAGS, FLAG_PRESENT, FLAG_CIRCUIT_OPEN } from "./layout";
import { derive } from "./slots";

export const CIRCUIT_CLOSED: u8 = 0;
export const CIRCUIT_OPEN: u8 = 1;
export const CIRCUIT_HALF_OPEN: u8 = 2;
export const NO_TRANSITION: i32 = -1;

const STATE: usize = 0;
const FAILURES: usize = 2;
const SUCCESSES: usize = 4;
const PROBES: usize = 6;
const OPENED_AT: usize = 8;
const COUNT_MAX: u32 = 0xffff;

// @ts-ignore: decorator
@inline function record(slot: u32): usize {
  return CIRCUIT + <usize>slot * CIRCUIT_BYTES;
}

function setBlocked(slot: u32, blocked: bool): void {
  const s = <usize>slot;
  const flags = load<u8>(FLAGS + s);
  store<u8>(FLAGS + s, blocked ? flags | FLAG_CIRCUIT_OPEN : flags & ~FLAG_CIRCUIT_OPEN);
  derive(s);
}

function open(slot: u32, nowMs: f64): i32 {
  const at = record(slot);
  memory.fill(at, 0, CIRCUIT_BYTES);
  store<u8>(at + STATE, CIRCUIT_OPEN);
  store<f64>(at + OPENED_AT, nowMs);
  if (nowMs < header.earliestOpenMs) header.earliestOpenMs = nowMs;
  setBlocked(slot, true);
  return CIRCUIT_OPEN;
}

function close(slot: u32): i32 {
  memory.fill(record(slot), 0, CIRCUIT_BYTES);
  setBlocked(slot, false);
  return CIRCUIT_CLOSED;
}

export function circuitState(slot: u32): i32 {
  return load<u8>(record(slot) + STATE);
}

/** Whether a connection may be tried now (the slot was chosen and acquired). Closed: yes. Open: no.
 *  Half-open: yes while fewer than probeLimit probes are in flight, and the attempt is a probe. */
export function circuitAdmit(slot: u32, probeLimit: u32): bool {
  const at = record(slot);
  const state = load<u8>(at + STATE);
  if (state == CIRCUIT_CLOSED) return true;
  if (state == CIRCUIT_OPEN) return false;
  const probes = <u32>load<u16>(at + PROBES);
  if (probes >= probeLimit) {
    setBlocked(slot, true);
    return false;
  }
  store<u16>(at + PROBES, <u16>(probes + 1));
  setBlocked(slot, probes + 1 >= probeLimit);
  return true;
}

/** A connect succeeded. Closed: the failure run ends. Half-open: a probe's success counts, and
 *  successThreshold of them close the circuit. Open: a late answer to an earlier attempt, ignored. */
export function circuitSuccess(slot: u32, successThreshold: u32, probe: bool): i32 {
  const at = record(slot);
  const state = load<u8>(at + STATE);
  if (state == CIRCUIT_CLOSED) {
    store<u16>(at + FAILURES, 0);
    return NO_TRANSITION;
  }
  if (state == CIRCUIT_OPEN || !probe) return NO_TRANSITION;
  const probes = load<u16>(at + PROBES);
  if (probes > 0) store<u16>(at + PROBES, probes - 1);
  const successes = <u32>load<u16>(at + SUCCESSES) + 1;
  if (successes >= successThreshold) return close(slot);
  store<u16>(at + SUCCESSES, <u16>min(successes, COUNT_MAX));
  setBlocked(slot, false);
  return NO_TRANSITION;
}

/** A connect failed or timed out. Closed: failureThreshold consecutive failures open the circuit.
 *  Half-open: any failure opens it again. Open: ignored (its timeout runs from the opening). Absent
 *  slot (a late answer after the backend left): ignored, so an absent slot's circuit stays closed. */
export function circuitFailure(slot: u32, nowMs: f64, failureThreshold: u32): i32 {
  const at = record(slot);
  const state = load<u8>(at + STATE);
  if (state == CIRCUIT_OPEN || (load<u8>(FLAGS + <usize>slot) & FLAG_PRESENT) == 0) return NO_TRANSITION;
  if (state == CIRCUIT_HALF_OPEN) return open(slot, nowMs);
  const failures = <u32>load<u16>(at + FAILURES) + 1;
  if (failures >= failureThreshold) return open(slot, nowMs);
  store<u16>(at + FAILURES, <u16>min(failures, COUNT_MAX));
  return NO_TRANSITION;
}

/** The first open circuit in [from, top) whose timeout has passed becomes half-open; returns its slot,
 *  or -1 when there is none left. The host calls from 0, then from the returned slot + 1. A sweep that
 *  reaches the end records when the next circuit falls due, so calls before then return at once. */
export function advanceCircuit(from: u32, nowMs: f64, timeoutMs: f64): i32 {
  if (from == 0) {
    if (nowMs < header.earliestOpenMs + timeoutMs) return -1;
    header.sweepOpenMs = Infinity;
  }
  const top = header.top;
  for (let slot = from; slot < top; slot++) {
    const at = record(slot);
    if (load<u8>(at + STATE) != CIRCUIT_OPEN) continue;
    const openedAt = load<f64>(at + OPENED_AT);
    if (nowMs >= openedAt + timeoutMs) {
      memory.fill(at, 0, CIRCUIT_BYTES);
      store<u8>(at + STATE, CIRCUIT_HALF_OPEN);
      setBlocked(slot, false);
      return <i32>slot;
    }
    if (openedAt < header.sweepOpenMs) header.sweepOpenMs = openedAt;
  }
  header.earliestOpenMs = header.sweepOpenMs;
  return -1;
}

/** Every circuit closed (the breaker was switched off). */
export function resetCircuits(): void {
  const padded = header.padded;
  memory.fill(CIRCUIT, 0, <usize>padded * CIRCUIT_BYTES);
  for (let slot: u32 = 0; slot < padded; slot++) {
    if ((load<u8>(FLAGS + <usize>slot) & FLAG_CIRCUIT_OPEN) != 0) setBlocked(slot, false);
  }
  header.earliestOpenMs = Infinity;
}

// Slot writes: attributes, health, reservations. Every input change is atomic and followed by settle(),
// which re-derives the slot's load, filter keys and flags so the scan only reads (the protocol is drawn
// in layout.ts). Reservations are one CAS each: N instances together never pass hard_limit nor go
// below zero. The host validates slot indexes and value ranges before calling.

import {
  header, Header, COUNTRY, REGION, FKEY, FKEY_BASE, FLAGS, ACTIVE, HARD, SOFT, WEIGHT, LOAD_INT, LOAD_REM, SEQ, INCARNATION, SW, CIRCUIT,
  FLAG_PRESENT, FLAG_HEALTHY, FLAG_LOCAL, FLAG_CIRCUIT_OPEN, FLAG_CANDIDATE, FLAG_PROBE_DOWN,
} from "./layout";

/** Filter-key steps per unit of score: tiers sit TIER_STEP = 100 * 128 apart. */
export const FKEY_SHIFT: u32 = 7;
export const TIER_STEP: u32 = 100 << FKEY_SHIFT;
/** Loads (active / sw) at or above this get filter key 0: "always compare exactly". */
export const FKEY_LOAD_LIMIT: u32 = 200;
/** Filter key of a slot that is not a candidate; eligible keys stay below FKEY_ANY. */
export const FKEY_NONE: u32 = 0xffff;
/** A best-so-far key that lets every candidate through the filter. */
export const FKEY_ANY: u32 = 0xfffe;

/** Circuit word bits (layout.ts): open flag, and the blocked bit of a half-open circuit. */
export const CIRCUIT_OPEN_BIT: u64 = (<u64>1) << 63;
export const CIRCUIT_BLOCKED_BIT: u64 = 4;

// @ts-ignore: decorator
@inline function setFlag(s: usize, flag: u8, on: bool): void {
  if (on) atomic.or<u8>(FLAGS + s, flag);
  else atomic.and<u8>(FLAGS + s, ~flag);
}

/** Recompute the derived fields of a slot from its inputs (one pass; settle() repeats it as needed). */
function derive(s: usize): void {
  const circuit = atomic.load<u64>(CIRCUIT + (s << 3));
  const blocked = (circuit & (CIRCUIT_OPEN_BIT | CIRCUIT_BLOCKED_BIT)) != 0;
  let flags = atomic.load<u8>(FLAGS + s);
  if (blocked != ((flags & FLAG_CIRCUIT_OPEN) != 0)) {
    setFlag(s, FLAG_CIRCUIT_OPEN, blocked);
    flags = blocked ? flags | FLAG_CIRCUIT_OPEN : flags & ~FLAG_CIRCUIT_OPEN;
  }
  const active = <u64>atomic.load<u32>(ACTIVE + (s << 2));
  const sw = atomic.load<u64>(SW + (s << 3));
  let whole: u64 = 0, rem: u64 = 0;
  if (sw != 0) {
    whole = active / sw;
    rem = active - whole * sw;
    store<u32>(LOAD_INT + (s << 2), <u32>whole);
    store<u32>(LOAD_REM + (s << 2), <u32>rem);
  }
  const usable = (flags & (FLAG_PRESENT | FLAG_HEALTHY | FLAG_CIRCUIT_OPEN | FLAG_PROBE_DOWN)) == (FLAG_PRESENT | FLAG_HEALTHY);
  if (!usable || sw == 0 || active >= <u64>atomic.load<u32>(HARD + (s << 2))) {
    if ((flags & FLAG_CANDIDATE) != 0) setFlag(s, FLAG_CANDIDATE, false);
    store<u16>(FKEY + (s << 1), <u16>FKEY_NONE);
    store<u16>(FKEY_BASE + (s << 1), <u16>FKEY_NONE);
    return;
  }
  let key: u32 = 0;
  if (whole < FKEY_LOAD_LIMIT) key = (<u32>whole << FKEY_SHIFT) + <u32>((rem << FKEY_SHIFT) / sw);
  store<u16>(FKEY + (s << 1), <u16>key);
  store<u16>(FKEY_BASE + (s << 1), <u16>(key + ((flags & FLAG_LOCAL) != 0 ? 2 * TIER_STEP : 3 * TIER_STEP)));
  if ((flags & FLAG_CANDIDATE) == 0) setFlag(s, FLAG_CANDIDATE, true);
}

/** After an input of the slot changed: derive until no other instance changed an input meanwhile. */
export function settle(s: usize): void {
  let seq = atomic.add<u32>(SEQ + (s << 2), 1) + 1;
  while (true) {
    derive(s);
    const now = atomic.load<u32>(SEQ + (s << 2));
    if (now == seq) return;
    seq = now;
  }
}

/** Write a slot's attributes and mark it present; active connections and circuit state are kept. */
export function setSlot(
  slot: u32, country: u32, region: u32, healthy: bool, local: bool, weight: u32, soft: u32, hard: u32,
): void {
  const s = <usize>slot;
  atomic.store<u16>(COUNTRY + (s << 1), <u16>country);
  atomic.store<u16>(REGION + (s << 1), <u16>region);
  atomic.store<u32>(HARD + (s << 2), hard);
  atomic.store<u32>(SOFT + (s << 2), soft);
  atomic.store<u32>(WEIGHT + (s << 2), weight);
  atomic.store<u64>(SW + (s << 3), <u64>soft * <u64>weight);
  setFlag(s, FLAG_HEALTHY, healthy);
  setFlag(s, FLAG_LOCAL, local);
  setFlag(s, FLAG_PRESENT, true);
  settle(s);
  if (slot >= atomic.load<u32>(changetype<usize>(header) + offsetof<Header>("top"))) {
    atomic.store<u32>(changetype<usize>(header) + offsetof<Header>("top"), slot + 1);
  }
}

/** Mark a slot absent; its active count stays until released. Its circuit is closed, its probe result
 *  dropped and its incarnation bumped: all belonged to the backend that left, and the slot may next hold
 *  another (bindings to the old one die with the incarnation). */
export function clearSlot(slot: u32): void {
  const s = <usize>slot;
  atomic.store<u64>(CIRCUIT + (s << 3), 0);
  atomic.and<u8>(FLAGS + s, ~(FLAG_PRESENT | FLAG_PROBE_DOWN));
  atomic.add<u32>(INCARNATION + (s << 2), 1);
  settle(s);
  const topAt = changetype<usize>(header) + offsetof<Header>("top");
  let top = atomic.load<u32>(topAt);
  while (top > 0 && (atomic.load<u8>(FLAGS + <usize>(top - 1)) & FLAG_PRESENT) == 0) top--;
  atomic.store<u32>(topAt, top);
}

export function setHealthy(slot: u32, healthy: bool): void {
  setFlag(<usize>slot, FLAG_HEALTHY, healthy);
  settle(<usize>slot);
}

/** Active health check result: a slot whose probe is down is no candidate, whatever the store says. */
export function setProbeDown(slot: u32, down: bool): void {
  setFlag(<usize>slot, FLAG_PROBE_DOWN, down);
  settle(<usize>slot);
}

/** Reserve one connection in one atomic step: false when the slot is absent or at its hard limit. */
export function acquire(slot: u32): bool {
  const s = <usize>slot;
  const at = ACTIVE + (s << 2);
  let active = atomic.load<u32>(at);
  while (true) {
    if ((atomic.load<u8>(FLAGS + s) & FLAG_PRESENT) == 0 || active >= atomic.load<u32>(HARD + (s << 2))) return false;
    const seen = atomic.cmpxchg<u32>(at, active, active + 1);
    if (seen == active) break;
    active = seen;
  }
  settle(s);
  return true;
}

/** Release one connection; a release with none active is ignored (the count never goes below zero). */
export function release(slot: u32): void {
  const s = <usize>slot;
  const at = ACTIVE + (s << 2);
  let active = atomic.load<u32>(at);
  while (true) {
    if (active == 0) return;
    const seen = atomic.cmpxchg<u32>(at, active, active - 1);
    if (seen == active) break;
    active = seen;
  }
  settle(s);
}

/** The slot's incarnation: bumped each time its backend leaves (clearSlot). */
export function incarnation(slot: u32): u32 {
  return atomic.load<u32>(INCARNATION + (<usize>slot << 2));
}

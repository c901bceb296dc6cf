// Slot writes: attributes, health, reservations. Each one re-derives the slot's load and filter keys so
// the scan only reads. The host validates slot indexes and value ranges before calling.

import {
  header, COUNTRY, REGION, FKEY, FKEY_BASE, FLAGS, ACTIVE, HARD, SOFT, WEIGHT, LOAD_INT, LOAD_REM, SW, CIRCUIT, CIRCUIT_BYTES,
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

/** Recompute CANDIDATE and the filter keys from flags, active, hard and the load split. */
export function derive(slot: usize): void {
  const flags = load<u8>(FLAGS + slot);
  const active = load<u32>(ACTIVE + (slot << 2));
  const usable = (flags & (FLAG_PRESENT | FLAG_HEALTHY | FLAG_CIRCUIT_OPEN | FLAG_PROBE_DOWN)) == (FLAG_PRESENT | FLAG_HEALTHY);
  if (!usable || active >= load<u32>(HARD + (slot << 2))) {
    store<u8>(FLAGS + slot, flags & ~FLAG_CANDIDATE);
    store<u16>(FKEY + (slot << 1), <u16>FKEY_NONE);
    store<u16>(FKEY_BASE + (slot << 1), <u16>FKEY_NONE);
    return;
  }
  store<u8>(FLAGS + slot, flags | FLAG_CANDIDATE);
  const whole = load<u32>(LOAD_INT + (slot << 2));
  let key: u32 = 0;
  if (whole < FKEY_LOAD_LIMIT) {
    const rem = load<u32>(LOAD_REM + (slot << 2));
    key = (whole << FKEY_SHIFT) + <u32>((<u64>rem << FKEY_SHIFT) / load<u64>(SW + (slot << 3)));
  }
  store<u16>(FKEY + (slot << 1), <u16>key);
  store<u16>(FKEY_BASE + (slot << 1), <u16>(key + ((flags & FLAG_LOCAL) != 0 ? 2 * TIER_STEP : 3 * TIER_STEP)));
}

/** Write a slot's attributes and mark it present; active connections and circuit state are kept. */
export function setSlot(
  slot: u32, country: u32, region: u32, healthy: bool, local: bool, weight: u32, soft: u32, hard: u32,
): void {
  const s = <usize>slot;
  store<u16>(COUNTRY + (s << 1), <u16>country);
  store<u16>(REGION + (s << 1), <u16>region);
  store<u32>(HARD + (s << 2), hard);
  store<u32>(SOFT + (s << 2), soft);
  store<u32>(WEIGHT + (s << 2), weight);
  const sw = <u64>soft * <u64>weight;
  store<u64>(SW + (s << 3), sw);
  const active = <u64>load<u32>(ACTIVE + (s << 2));
  const whole = active / sw;
  store<u32>(LOAD_INT + (s << 2), <u32>whole);
  store<u32>(LOAD_REM + (s << 2), <u32>(active - whole * sw));
  let flags = (load<u8>(FLAGS + s) & (FLAG_CIRCUIT_OPEN | FLAG_PROBE_DOWN)) | FLAG_PRESENT;
  if (healthy) flags |= FLAG_HEALTHY;
  if (local) flags |= FLAG_LOCAL;
  store<u8>(FLAGS + s, flags);
  derive(s);
  if (slot >= header.top) header.top = slot + 1;
}

/** Mark a slot absent; its active count stays until released. Its circuit is closed and its probe
 *  result dropped: both belonged to the backend that left, and the slot may next hold another. */
export function clearSlot(slot: u32): void {
  const s = <usize>slot;
  memory.fill(CIRCUIT + s * CIRCUIT_BYTES, 0, CIRCUIT_BYTES);
  store<u8>(FLAGS + s, load<u8>(FLAGS + s) & ~(FLAG_PRESENT | FLAG_CIRCUIT_OPEN | FLAG_PROBE_DOWN));
  derive(s);
  let top = header.top;
  while (top > 0 && (load<u8>(FLAGS + <usize>(top - 1)) & FLAG_PRESENT) == 0) top--;
  header.top = top;
}

export function setHealthy(slot: u32, healthy: bool): void {
  const s = <usize>slot;
  const flags = load<u8>(FLAGS + s);
  store<u8>(FLAGS + s, healthy ? flags | FLAG_HEALTHY : flags & ~FLAG_HEALTHY);
  derive(s);
}

/** Active health check result: a slot whose probe is down is no candidate, whatever the store says. */
export function setProbeDown(slot: u32, down: bool): void {
  const s = <usize>slot;
  const flags = load<u8>(FLAGS + s);
  store<u8>(FLAGS + s, down ? flags | FLAG_PROBE_DOWN : flags & ~FLAG_PROBE_DOWN);
  derive(s);
}

/** Reserve one connection: false when the slot is absent or at its hard limit. */
export function acquire(slot: u32): bool {
  const s = <usize>slot;
  const active = load<u32>(ACTIVE + (s << 2));
  if ((load<u8>(FLAGS + s) & FLAG_PRESENT) == 0 || active >= load<u32>(HARD + (s << 2))) return false;
  store<u32>(ACTIVE + (s << 2), active + 1);
  // Keep active == LOAD_INT * sw + LOAD_REM without dividing.
  const rem = load<u32>(LOAD_REM + (s << 2)) + 1;
  if (<u64>rem == load<u64>(SW + (s << 3))) {
    store<u32>(LOAD_REM + (s << 2), 0);
    store<u32>(LOAD_INT + (s << 2), load<u32>(LOAD_INT + (s << 2)) + 1);
  } else {
    store<u32>(LOAD_REM + (s << 2), rem);
  }
  derive(s);
  return true;
}

/** Release one connection; a release with none active is ignored. */
export function release(slot: u32): void {
  const s = <usize>slot;
  const active = load<u32>(ACTIVE + (s << 2));
  if (active == 0) return;
  store<u32>(ACTIVE + (s << 2), active - 1);
  const rem = load<u32>(LOAD_REM + (s << 2));
  if (rem == 0) {
    store<u32>(LOAD_REM + (s << 2), <u32>(load<u64>(SW + (s << 3)) - 1));
    store<u32>(LOAD_INT + (s << 2), load<u32>(LOAD_INT + (s << 2)) - 1);
  } else {
    store<u32>(LOAD_REM + (s << 2), rem - 1);
  }
  derive(s);
}

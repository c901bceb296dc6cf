// The selection scan: the policy of src/core/selection.ts, chosen identically to the reference engine.
//
// Exact order: score = tier * 100 + load, load = active / sw = LOAD_INT + LOAD_REM / sw, so a slot's
// score is (whole = tier * 100 + LOAD_INT, fraction = LOAD_REM / sw) and two scores compare by whole,
// then by LOAD_REM_a * sw_b vs LOAD_REM_b * sw_a (< 2^60, exact in u64).
//
// Speed: 8 slots at a time, SIMD builds each slot's 16-bit filter key (FKEY + tier * 12,800, a lower
// bound of floor(128 * score)); a block whose keys all exceed the best's key holds nothing better and no
// tie, so it is skipped whole. The few lanes left are compared exactly, in slot order, so the
// tie-breaking draws happen exactly where the reference makes them.

import {
  header, COUNTRY, REGION, FKEY, FKEY_BASE, FLAGS, WEIGHT, LOAD_INT, LOAD_REM, TRIED, SW,
  FLAG_LOCAL, NO_MATCH, LANES,
} from "./layout";
import { TIER_STEP, FKEY_LOAD_LIMIT, FKEY_ANY } from "./slots";

/** Slots scanned per loop step: 4 SIMD blocks share one branch. */
export const SCAN_STEP: u32 = 4 * LANES;

/** The 8 filter keys at byte offset `at` of the u16 regions: FKEY + tier * 12,800, 0xFFFF = no candidate. */
// @ts-ignore: decorator
@inline function blockKeys(at: usize, countryV: v128, regionV: v128): v128 {
  const fkey = v128.load(FKEY + at);
  const regionKey = v128.bitselect(
    i16x8.add_sat_u(fkey, i16x8.splat(<i16>TIER_STEP)), v128.load(FKEY_BASE + at), i16x8.eq(v128.load(REGION + at), regionV),
  );
  return v128.bitselect(fkey, regionKey, i16x8.eq(v128.load(COUNTRY + at), countryV));
}

/** Best candidate slot for a client, or -1 (SelectionEngine.select; exported as `select`). */
export function selectBackend(clientCountry: u32, clientRegion: u32, attempt: u32, seed: u32): i32 {
  // Client codes outside 1..0xFFFE can match nothing: slots only hold 0..0xFFFE.
  const country = clientCountry - 1 < NO_MATCH - 1 ? clientCountry : NO_MATCH;
  const region = clientRegion - 1 < NO_MATCH - 1 ? clientRegion : NO_MATCH;
  let rng: u32 = seed == 0 ? 1 : seed;

  const countryV = i16x8.splat(<i16>country);
  const regionV = i16x8.splat(<i16>region);
  let bestKeyV = i16x8.splat(<i16>FKEY_ANY);

  let chosen: i32 = -1;
  let bestWhole: u32 = u32.MAX_VALUE;
  let bestRem: u64 = 0;
  let bestSw: u64 = 1;
  let tieWeight: u64 = 0;

  // Slots in [top, end) are absent (filter key 0xFFFF); SLOT_ALIGN keeps end inside every region.
  const end = <usize>((header.top + SCAN_STEP - 1) & ~(SCAN_STEP - 1)) << 1;
  for (let step: usize = 0; step < end; step += SCAN_STEP << 1) {
    const any = v128.or(
      v128.or(i16x8.le_u(blockKeys(step, countryV, regionV), bestKeyV), i16x8.le_u(blockKeys(step + 16, countryV, regionV), bestKeyV)),
      v128.or(i16x8.le_u(blockKeys(step + 32, countryV, regionV), bestKeyV), i16x8.le_u(blockKeys(step + 48, countryV, regionV), bestKeyV)),
    );
    if (!v128.any_true(any)) continue;

    for (let at = step, stop = step + (SCAN_STEP << 1); at < stop; at += LANES << 1) {
      // Re-filtered against the current best: a lane that passes may still lose the exact comparison.
      let lanes = i16x8.bitmask(i16x8.le_u(blockKeys(at, countryV, regionV), bestKeyV));
      const first = at >>> 1;
      while (lanes != 0) {
        const slot = first + <usize>ctz(lanes);
        lanes &= lanes - 1;
        if (attempt != 0 && load<u32>(TRIED + (slot << 2)) == attempt) continue;

        const local = (load<u8>(FLAGS + slot) & FLAG_LOCAL) != 0;
        const tier = select<u32>(0, select<u32>(1, select<u32>(2, 3, local), <u32>load<u16>(REGION + (slot << 1)) == region),
          <u32>load<u16>(COUNTRY + (slot << 1)) == country);
        const loadInt = load<u32>(LOAD_INT + (slot << 2));
        const whole = tier * 100 + loadInt;
        if (whole > bestWhole) continue;
        const rem = <u64>load<u32>(LOAD_REM + (slot << 2));
        const sw = load<u64>(SW + (slot << 3));
        if (whole == bestWhole) {
          const mine = rem * bestSw, theirs = bestRem * sw;
          if (mine > theirs) continue;
          if (mine == theirs) {
            // Tie: weighted reservoir draw (selection.ts), one xorshift32 step per tie.
            const weight = <u64>load<u32>(WEIGHT + (slot << 2));
            tieWeight += weight;
            rng ^= rng << 13;
            rng ^= rng >>> 17;
            rng ^= rng << 5;
            const draw: u64 = tieWeight <= <u64>u32.MAX_VALUE ? <u64>(rng % <u32>tieWeight) : <u64>rng;
            if (draw < weight) chosen = <i32>slot;
            continue;
          }
        }
        chosen = <i32>slot;
        bestWhole = whole;
        bestRem = rem;
        bestSw = sw;
        tieWeight = <u64>load<u32>(WEIGHT + (slot << 2));
        const bestKey = loadInt < FKEY_LOAD_LIMIT ? <u32>load<u16>(FKEY + (slot << 1)) + tier * TIER_STEP : FKEY_ANY;
        bestKeyV = i16x8.splat(<i16>bestKey);
      }
    }
  }
  return chosen;
}

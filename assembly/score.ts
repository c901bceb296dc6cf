// The selection scan: the policy of src/core/selection.ts, chosen identically to the reference engine.
//
// Exact order: score = tier * 100 + load, load = active / sw = LOAD_INT + LOAD_REM / sw, so a slot's
// score is (whole = tier * 100 + LOAD_INT, fraction = LOAD_REM / sw) and two scores compare by whole,
// then by LOAD_REM_a * sw_b vs LOAD_REM_b * sw_a (< 2^60, exact in u64).
//
// Speed: SIMD builds each slot's 16-bit filter key (FKEY + tier * 12,800, a lower bound of
// floor(128 * score)) 8 slots at a time, 32 slots per loop step. A step whose keys all exceed the best's
// key holds nothing better and no tie, so it is skipped whole. Otherwise its keys are spilled to
// SCRATCH and the lanes that pass are compared exactly, in slot order, so the tie-breaking draws
// happen exactly where the reference makes them. A lane's key also gives its tier: key - FKEY is
// tier * 12,800, and (tier * 12,800) >> 7 is tier * 100.

import {
  header, SCRATCH, FKEY, FKEY_BASE, COUNTRY, REGION, WEIGHT, LOAD_INT, LOAD_REM, TRIED, SW, NO_MATCH, LANES,
} from "./layout";
import { TIER_STEP, FKEY_SHIFT, FKEY_LOAD_LIMIT, FKEY_ANY } from "./slots";

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
  let bestKey: u32 = FKEY_ANY;
  let bestKeyV = i16x8.splat(<i16>FKEY_ANY);

  let chosen: i32 = -1;
  let bestWhole: u32 = u32.MAX_VALUE;
  let bestRem: u64 = 0;
  let bestSw: u64 = 1;
  let tieWeight: u64 = 0;

  // Byte offsets into the u16 regions: whole 32-slot steps, then single 8-slot blocks up to the top.
  // Slots in [top, end) are absent (filter key 0xFFFF); SLOT_ALIGN keeps end inside every region.
  const top = header.top;
  const stepsEnd = <usize>(top & ~(SCAN_STEP - 1)) << 1;
  const end = <usize>((top + LANES - 1) & ~(LANES - 1)) << 1;
  let at: usize = 0;
  while (at < end) {
    let spilled: usize;
    if (at < stepsEnd) {
      const keys0 = blockKeys(at, countryV, regionV);
      const keys1 = blockKeys(at + 16, countryV, regionV);
      const keys2 = blockKeys(at + 32, countryV, regionV);
      const keys3 = blockKeys(at + 48, countryV, regionV);
      const any = v128.or(
        v128.or(i16x8.le_u(keys0, bestKeyV), i16x8.le_u(keys1, bestKeyV)),
        v128.or(i16x8.le_u(keys2, bestKeyV), i16x8.le_u(keys3, bestKeyV)),
      );
      if (!v128.any_true(any)) {
        at += SCAN_STEP << 1;
        continue;
      }
      v128.store(SCRATCH, keys0);
      v128.store(SCRATCH + 16, keys1);
      v128.store(SCRATCH + 32, keys2);
      v128.store(SCRATCH + 48, keys3);
      spilled = SCAN_STEP << 1;
    } else {
      const keys = blockKeys(at, countryV, regionV);
      if (!v128.any_true(i16x8.le_u(keys, bestKeyV))) {
        at += LANES << 1;
        continue;
      }
      v128.store(SCRATCH, keys);
      spilled = LANES << 1;
    }

    for (let block: usize = 0; block < spilled; block += 16) {
      let lanes = i16x8.bitmask(i16x8.le_u(v128.load(SCRATCH + block), bestKeyV));
      const first = (at + block) >>> 1;
      while (lanes != 0) {
        const lane = <usize>ctz(lanes);
        lanes &= lanes - 1;
        const key = <u32>load<u16>(SCRATCH + block + (lane << 1));
        if (key > bestKey) continue; // beaten by an earlier lane of this block
        const slot = first + lane;
        if (attempt != 0 && load<u32>(TRIED + (slot << 2)) == attempt) continue;

        const tierHundreds = (key - <u32>load<u16>(FKEY + (slot << 1))) >>> FKEY_SHIFT;
        const loadInt = load<u32>(LOAD_INT + (slot << 2));
        const whole = tierHundreds + loadInt;
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
        bestKey = loadInt < FKEY_LOAD_LIMIT ? key : FKEY_ANY;
        bestKeyV = i16x8.splat(<i16>bestKey);
      }
    }
    at += spilled;
  }
  return chosen;
}

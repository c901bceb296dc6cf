// Per-client token buckets: the policy of src/core/token-bucket.ts (its reference is the oracle), in a
// fixed table in linear memory (BUCKETS, drawn in layout.ts). Nothing grows: a new client takes the
// entry nearest to full in its probe window, and a bucket that has refilled is the same as a new one,
// so taking it over loses nothing. Only when every entry of the window is still refilling is one
// evicted early (the one nearest to full; header.evictions counts them).
//
// A bucket holds its deficit (burst - tokens) so that zeroed memory is a full bucket. Per take:
//     deficit = max(0, deficit - elapsed * maxRequests / windowMs)    elapsed = max(0, now - last)
//     allowed = deficit + 1 <= burst; if allowed: deficit += 1;       last = max(last, now)

import { header, BUCKETS, ENTRIES, BUCKET_BYTES } from "./layout";

/** Entries looked at per key: the key's home entry and the next 15 (wrapping). */
export const PROBE_WINDOW: u32 = 16;

const DEFICIT: usize = 16;
const LAST: usize = 24;

// @ts-ignore: decorator
@inline function mix64(h: u64): u64 {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccd;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53;
  h ^= h >> 33;
  return h;
}

/** Set the hash seed (a random value from the host, once at start). */
export function seedBuckets(seed: u32): void {
  header.bucketSeed = seed;
}

// @ts-ignore: decorator
@inline function refilled(entry: usize, nowMs: f64, maxRequests: f64, windowMs: f64): f64 {
  const last = load<f64>(entry + LAST);
  const elapsed = nowMs > last ? nowMs - last : 0.0;
  return max(0.0, load<f64>(entry + DEFICIT) - elapsed * maxRequests / windowMs);
}

/** One token for the client whose 16-byte address the host wrote at BUCKETS: true = allowed. */
export function takeToken(nowMs: f64, burst: f64, maxRequests: f64, windowMs: f64): bool {
  const capacity = header.bucketCapacity;
  if (capacity == 0) return true; // no table: nothing to limit with (the host never enables this)
  const k0 = load<u64>(BUCKETS), k1 = load<u64>(BUCKETS + 8);
  const mask = capacity - 1;
  const home = <u32>mix64(mix64(k0 ^ <u64>header.bucketSeed) ^ k1) & mask;

  let entry: usize = 0;
  let deficit = Infinity;
  let found = false;
  for (let i: u32 = 0; i < PROBE_WINDOW; i++) {
    const at = ENTRIES + <usize>((home + i) & mask) * BUCKET_BYTES;
    if (load<u64>(at) == k0 && load<u64>(at + 8) == k1) {
      entry = at;
      deficit = refilled(at, nowMs, maxRequests, windowMs);
      found = true;
      break;
    }
    const projected = refilled(at, nowMs, maxRequests, windowMs);
    if (projected < deficit) {
      entry = at;
      deficit = projected;
    }
  }
  if (!found) {
    if (deficit > 0) header.evictions++;
    store<u64>(entry, k0);
    store<u64>(entry + 8, k1);
    store<f64>(entry + LAST, nowMs);
    deficit = 0;
  }
  const last = load<f64>(entry + LAST);
  if (nowMs > last) store<f64>(entry + LAST, nowMs);
  const allowed = deficit + 1 <= burst;
  store<f64>(entry + DEFICIT, allowed ? deficit + 1 : deficit);
  return allowed;
}

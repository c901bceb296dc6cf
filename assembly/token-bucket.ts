// Per-client token buckets: the policy of src/core/token-bucket.ts (its reference is the oracle), in a
// fixed table in shared memory (BUCKETS, drawn in layout.ts). Nothing grows: a new client takes the
// entry nearest to full in its probe window, and a bucket that has refilled is the same as a new one,
// so taking it over loses nothing. Only when every entry of the window is still refilling is one
// evicted early (the one nearest to full; header.evictions counts them).
//
// A bucket is one f64, tat: the time it is full again (GCRA), so one token is taken with one CAS and
// N instances together admit exactly what one would. Per take, with T = windowMs / maxRequests:
//     base = max(tat, now); next = base + T
//     allowed = next - now <= T * (burst + TOKEN_SLACK); if allowed: tat = next

import { header, Header, BUCKETS, BUCKET_BYTES, clientHash } from "./layout";

/** Entries looked at per key: the key's home entry and the next 15 (wrapping). */
export const PROBE_WINDOW: u32 = 16;
/** A thousandth of a token: absorbs the f64 rounding of adding T to times near 1.7e12 ms. */
export const TOKEN_SLACK: f64 = 1.0 / 1024;

const TAT: usize = 8;
const EVICTIONS: usize = changetype<usize>(header) + offsetof<Header>("evictions");

/** Set the hash seed (a random value from the host, once at start, before any take or binding). */
export function seedBuckets(seed: u32): void {
  header.bucketSeed = seed;
}

/** One token for the client whose 16-byte address the host wrote at this lane's KEY: true = allowed. */
export function takeToken(nowMs: f64, burst: f64, maxRequests: f64, windowMs: f64): bool {
  const capacity = header.bucketCapacity;
  if (capacity == 0) return true; // no table: nothing to limit with (the host never enables this)
  const key = clientHash(0);
  const mask = capacity - 1;
  const home = <u32>key & mask;

  let entry: usize = 0;
  while (entry == 0) {
    let victim: usize = 0, victimKey: u64 = 0, victimTat: u64 = 0;
    let nearest = Infinity;
    for (let i: u32 = 0; i < PROBE_WINDOW; i++) {
      const at = BUCKETS + <usize>((home + i) & mask) * BUCKET_BYTES;
      const k = atomic.load<u64>(at);
      if (k == key) {
        entry = at;
        break;
      }
      const tat = atomic.load<u64>(at + TAT);
      if (reinterpret<f64>(tat) < nearest) {
        nearest = reinterpret<f64>(tat);
        victim = at;
        victimKey = k;
        victimTat = tat;
      }
    }
    if (entry != 0) break;
    // Take the entry over; another instance that changed it first makes us look again.
    if (atomic.cmpxchg<u64>(victim, victimKey, key) != victimKey) continue;
    if (nearest > nowMs) {
      atomic.add<u32>(EVICTIONS, 1);
      atomic.cmpxchg<u64>(victim + TAT, victimTat, 0); // a fresh bucket (unless someone took from it already)
    }
    entry = victim;
  }

  const t = windowMs / maxRequests;
  const limit = t * (burst + TOKEN_SLACK);
  let seen = atomic.load<u64>(entry + TAT);
  while (true) {
    const tat = reinterpret<f64>(seen);
    const next = (tat > nowMs ? tat : nowMs) + t;
    if (!(next - nowMs <= limit)) return false;
    const was = atomic.cmpxchg<u64>(entry + TAT, seen, reinterpret<u64>(next));
    if (was == seen) return true;
    seen = was;
  }
}

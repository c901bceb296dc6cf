// Client affinity: client → backend bindings with a sliding TTL, in a fixed table in shared memory
// (AFFINITY, drawn in layout.ts), so a client whose connections the kernel spreads over workers stays on
// one backend. The policy of src/core/affinity.ts (AffinityReference is the oracle):
//   - a binding names a slot and the slot's incarnation: once that backend leaves, the binding is dead;
//   - an expired binding is never returned, even before affinityGc() has removed it;
//   - bind keeps a live binding whose backend is still a candidate (the first instance to bind wins) and
//     replaces any other; the TTL slides on every use.
// Each entry carries a version (a per-entry seqlock): a writer takes an entry with one CAS on it (odd
// while it rewrites key, binding and expiry), readers retry or skip an entry that changed under them,
// and nobody ever waits on a writer. The table never grows: a new client takes a free or expired entry
// of its 16-entry probe window, or else the live one closest to expiry (header.affinityEvictions).

import { header, Header, AFFINITY, AFFINITY_BYTES, FLAGS, FLAG_CANDIDATE, clientHash } from "./layout";
import { incarnation } from "./slots";

const PROBE_WINDOW: u32 = 16;
/** Keeps affinity keys apart from bucket keys of the same client. */
const SALT: u64 = 0x5bd1e99500000000;
const BINDING: usize = 8;
const EXPIRES: usize = 16;
const VERSION: usize = 24;
const COUNT: usize = changetype<usize>(header) + offsetof<Header>("affinityCount");
const EVICTIONS: usize = changetype<usize>(header) + offsetof<Header>("affinityEvictions");

// What the last read() saw (per instance).
let seenKey: u64 = 0;
let seenBinding: u64 = 0;
let seenExpires: f64 = 0;
let seenVersion: u32 = 0;
/** find() met an entry being rewritten: it may be the key's. */
let busy = false;
/** Window scans a binder makes while another instance is writing there, before it inserts anyway. */
const PATIENCE: i32 = 1 << 20;

/** A consistent copy of the entry at `at` into seen*, or false while another instance rewrites it. */
function read(at: usize): bool {
  for (let tries = 0; tries < 4; tries++) {
    const v1 = atomic.load<u32>(at + VERSION);
    if ((v1 & 1) != 0) continue;
    seenKey = atomic.load<u64>(at);
    seenBinding = atomic.load<u64>(at + BINDING);
    seenExpires = reinterpret<f64>(atomic.load<u64>(at + EXPIRES));
    if (atomic.load<u32>(at + VERSION) == v1) {
      seenVersion = v1;
      return true;
    }
  }
  return false;
}

// @ts-ignore: decorator
@inline function entryAt(home: u32, i: u32): usize {
  return AFFINITY + <usize>((home + i) & (header.affinityCapacity - 1)) * AFFINITY_BYTES;
}

/** The first entry of the key's window holding `key` (its copy in seen*), or 0. */
function find(key: u64): usize {
  busy = false;
  const home = <u32>key;
  for (let i: u32 = 0; i < PROBE_WINDOW; i++) {
    const at = entryAt(home, i);
    if (!read(at)) {
      busy = true;
      continue;
    }
    if (seenKey == key) return at;
  }
  return 0;
}

// @ts-ignore: decorator
@inline function claim(at: usize, version: u32): bool {
  return atomic.cmpxchg<u32>(at + VERSION, version, version + 1) == version;
}

// @ts-ignore: decorator
@inline function publish(at: usize, version: u32): void {
  atomic.store<u32>(at + VERSION, version + 2);
}

/** The bound slot if the binding is live and its backend is still the slot's, else -1. */
function liveSlot(nowMs: f64): i32 {
  if (!(seenExpires > nowMs)) return -1;
  const slot = <u32>seenBinding;
  if (slot >= header.capacity || incarnation(slot) != <u32>(seenBinding >> 32)) return -1;
  return <i32>slot;
}

/** expires = max(expires, until), lock-free (another instance may slide it too). */
function slide(at: usize, until: f64): void {
  let seen = atomic.load<u64>(at + EXPIRES);
  while (reinterpret<f64>(seen) < until) {
    const was = atomic.cmpxchg<u64>(at + EXPIRES, seen, reinterpret<u64>(until));
    if (was == seen) return;
    seen = was;
  }
}

/** The client (its 16-byte key at this lane's KEY) is bound to which slot: -1 = none, expired, or its
 *  backend left. A live binding's TTL slides to nowMs + ttlMs. */
export function affinityLookup(nowMs: f64, ttlMs: f64): i32 {
  if (header.affinityCapacity == 0) return -1;
  const at = find(clientHash(SALT));
  if (at == 0) return -1;
  const slot = liveSlot(nowMs);
  if (slot >= 0) slide(at, nowMs + ttlMs);
  return slot;
}

/** Bind the client to `slot` unless it has a live binding to another slot that is still a candidate
 *  (then that one stands). Returns the slot the client is bound to afterwards. */
export function affinityBind(slot: u32, nowMs: f64, ttlMs: f64): i32 {
  if (header.affinityCapacity == 0) return <i32>slot;
  const key = clientHash(SALT);
  const binding = <u64>slot | (<u64>incarnation(slot) << 32);
  const until = nowMs + ttlMs;
  for (let spins = 0; ; spins++) {
    const at = find(key);
    if (at != 0) {
      const bound = liveSlot(nowMs);
      if (bound >= 0 && (bound == <i32>slot || (atomic.load<u8>(FLAGS + <usize>bound) & FLAG_CANDIDATE) != 0)) {
        slide(at, until);
        return bound;
      }
      const version = seenVersion;
      if (!claim(at, version)) continue;
      atomic.store<u64>(at + BINDING, binding);
      atomic.store<u64>(at + EXPIRES, reinterpret<u64>(until));
      publish(at, version);
      return <i32>slot;
    }
    // An entry of the window is being written: it may be this key's. Look again rather than insert a
    // second entry for the key; bounded, so a writer that stopped mid-write (a thread killed) costs
    // time, never progress.
    if (busy && spins < PATIENCE) continue;

    // A free or expired entry of the window, else the live one closest to expiry.
    let victim: usize = 0, victimVersion: u32 = 0, victimExpires = Infinity;
    const home = <u32>key;
    let raced = false;
    for (let i: u32 = 0; i < PROBE_WINDOW; i++) {
      const e = entryAt(home, i);
      // Being written, or the key arrived since find(): another instance is binding it; look again.
      if (!read(e) || seenKey == key) {
        raced = true;
        continue;
      }
      if (seenKey == 0 || !(seenExpires > nowMs)) {
        victim = e;
        victimVersion = seenVersion;
        break;
      }
      if (seenExpires < victimExpires) {
        victim = e;
        victimVersion = seenVersion;
        victimExpires = seenExpires;
      }
    }
    if ((raced && spins < PATIENCE) || victim == 0 || !claim(victim, victimVersion)) continue;
    const was = atomic.load<u64>(victim);
    if (was == 0) atomic.add<u32>(COUNT, 1);
    else if (reinterpret<f64>(atomic.load<u64>(victim + EXPIRES)) > nowMs) atomic.add<u32>(EVICTIONS, 1);
    atomic.store<u64>(victim, key);
    atomic.store<u64>(victim + BINDING, binding);
    atomic.store<u64>(victim + EXPIRES, reinterpret<u64>(until));
    publish(victim, victimVersion);
    return <i32>slot;
  }
}

/** Drop the client's binding if it names `slot` (a failed backend); true when one was dropped. */
export function affinityUnbind(slot: u32): bool {
  if (header.affinityCapacity == 0) return false;
  const key = clientHash(SALT);
  while (true) {
    const at = find(key);
    if (at == 0 || <u32>seenBinding != slot) return false;
    if (!claim(at, seenVersion)) continue;
    clear(at);
    publish(at, seenVersion);
    return true;
  }
}

function clear(at: usize): void {
  atomic.store<u64>(at, 0);
  atomic.store<u64>(at + BINDING, 0);
  atomic.store<u64>(at + EXPIRES, 0);
  atomic.sub<u32>(COUNT, 1);
}

/** Remove the bindings expired at nowMs (entries in [from, from + count)); returns how many. */
export function affinityGc(nowMs: f64, from: u32, count: u32): u32 {
  const capacity = header.affinityCapacity;
  const end = min(capacity, from + count);
  let removed: u32 = 0;
  for (let i = from; i < end; i++) {
    const at = AFFINITY + <usize>i * AFFINITY_BYTES;
    if (atomic.load<u64>(at) == 0 || !read(at) || seenKey == 0 || seenExpires > nowMs) continue;
    const version = seenVersion;
    if (!claim(at, version)) continue;
    if (!(reinterpret<f64>(atomic.load<u64>(at + EXPIRES)) > nowMs)) {
      clear(at);
      removed++;
    }
    publish(at, version);
  }
  return removed;
}

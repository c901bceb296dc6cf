// THE memory map of the decision core. src/engine/layout.ts mirrors it; the host checks the mirror
// against regionOffset()/regionBytes()/areaOffset() and the constants below every time it loads the module.
//
// The memory is created by the host (WebAssembly.Memory({ shared: true }), fixed size) and imported, so
// several instances of this module — one per worker thread — run over the same bytes. init() lays the
// map out once; every instance then calls attach(lane) to point its globals at it. Everything workers
// must agree on is here and changes by atomics (drawn below); what belongs to one instance (the scan's
// scratch, the client key it is asking about, the slots its attempts tried) lives in its LANE.
//
// Page 0 belongs to the compiler (static data, stub runtime); the map starts at MAP_BASE. Per-slot
// data is struct-of-arrays: one region per attribute, P = capacity rounded up to SLOT_ALIGN (16), so every
// region starts 16-byte aligned and the scan (8-slot SIMD blocks, up to the top slot) never reads past it.
// L = lanes (engine instances that may run at once), B = token buckets, A = affinity entries,
// Q = bytes of one route publication buffer.
//
//   offset from MAP_BASE     region       per slot  holds                                        written by
//   ──────────────────────   ──────────   ────────  ───────────────────────────────────────────  ───────────
//   0                        HEADER       (128 B)   Header: magic, capacity, P, top, epoch, …    init, atomics
//   128                      LANES        (128 B·L) per instance: SCRATCH 64 B · KEY 16 B ·      its instance
//                                                   sweep minimum f64 · sweep start f64
//   S = 128 + 128L           COUNTRY      u16       countryCode() of the backend, 0 = none       control plane
//   S +  2P                  REGION       u16       interned region id, 1..0xFFFE                control plane
//   S +  4P                  FKEY         u16       scan filter key for tiers 0/1, see below     derive (any)
//   S +  6P                  FKEY_BASE    u16       FKEY + 25,600 (local) or + 38,400: tiers 2/3 derive (any)
//   S +  8P                  FLAGS        u8        PRESENT | HEALTHY | LOCAL | PROBE_DOWN (in)  atomic or/and
//                                                   CIRCUIT_OPEN | CANDIDATE (derived)
//   S +  9P                  ACTIVE       u32       live connections (kept across setSlot/clear) CAS (any)
//   S + 13P                  HARD         u32       hard limit, 0..1,000,000                     control plane
//   S + 17P                  SOFT         u32       soft limit, 1..1,000,000                     control plane
//   S + 21P                  WEIGHT       u32       weight, 1..1,000,000                         control plane
//   S + 25P                  LOAD_INT     u32       floor(active / sw)     (load = active / sw    derive (any)
//   S + 29P                  LOAD_REM     u32       active - LOAD_INT * sw  = INT + REM / sw)    derive (any)
//   S + 33P                  SEQ          u32       bumped after every input change (settle())   atomic add
//   S + 37P                  INCARNATION  u32       bumped when the slot's backend leaves        control plane
//   S + 41P                  SW           u64       soft * weight, 1..10^12                      control plane
//   S + 49P                  CIRCUIT      u64       circuit word (circuit.ts)                    CAS (any)
//   S + 57P                  TRIED        u32 · L   attempt id that last tried the slot, per     its instance
//                                                   lane (lane l at TRIED + 4P·l), 0 = none
//   S + (57 + 4L)P           BUCKETS      (16 B·B)  token buckets, B = 0 or a power of two >= 16
//   … + 16B                  AFFINITY     (32 B·A)  client → backend bindings, A = 0 or 2^k >= 16
//   … + 32A                  PUBLISH      (2·Q B)   two buffers of route publications (host)     control plane
//   … + 2Q                   END
//
// Inputs and derived fields: the inputs of a slot are FLAGS' input bits, ACTIVE, HARD, SW and the circuit
// word; everything the scan reads (FKEY, FKEY_BASE, LOAD_INT, LOAD_REM, CANDIDATE, CIRCUIT_OPEN) is
// derived from them. A writer changes an input atomically, then settle()s: it bumps SEQ and derives
// until SEQ stays the same across one derive, so the last derive of a slot always saw its latest inputs
// and the derived fields end up consistent however many instances write at once (slots.ts).
//
// CIRCUIT word (u64):      bit 63 set: open, bits 0..62 = the f64 bits of opened_at_ms (>= 0).
//                          bit 63 clear: bits 0..1 state (0 closed, 2 half-open) · bit 2 blocked
//                          (half-open, every probe in flight) · probes 8..23 · failures 24..39 ·
//                          successes 40..55. One CAS per event: a transition happens once.
// BUCKETS entry (16 B):    0 key u64 (keyed hash of the client's 16-byte address, 0 = none) · 8 tat
//                          f64 bits (the time the bucket is full again; 0 = full). All-zero = a full
//                          bucket of no client; a bucket whose tat passed is free for any key.
// AFFINITY entry (32 B):   0 key u64 (keyed hash, 0 = none) · 8 binding u64 (slot | incarnation << 32) ·
//                          16 expires_ms f64 bits · 24 version u32 (odd while one instance rewrites the
//                          entry: a per-entry seqlock; readers retry or skip, never wait) · 28 pad.
// PUBLISH:                 header.publishWord = epoch << 1 | buffer; the control plane writes the next
//                          publication into the other buffer, then bumps the word (engine/route-bus.ts).
//
// Bounds: limits and weights are <= 1,000,000 (validated by the host), so active < 2^20, sw <= 10^12,
// active * sw < 2^60 and LOAD_REM * sw < 2^60: every exact comparison fits u64.
// FKEY = floor(128 * active / sw) while LOAD_INT < 200 (<= 25,599), 0 above that (= "compare exactly"),
// 0xFFFF when the slot is not a candidate. FKEY + tier * 12,800 is then a lower bound of
// floor(128 * score) and < 0xFFFE, which is all the scan needs to skip 32 slots at once (see score.ts).

export const MAP_BASE: u32 = 65536;
export const HEADER_BYTES: u32 = 128;
export const LANE_BYTES: u32 = 128;
export const SCRATCH_BYTES: u32 = 64;
export const SLOT_ALIGN: u32 = 16;
export const LANES: u32 = 8;
export const MAX_CAPACITY: u32 = 1 << 20;
export const MAX_LANES: u32 = 1024;
export const MAX_BUCKETS: u32 = 1 << 24;
export const MIN_BUCKETS: u32 = 16;
export const BUCKET_BYTES: u32 = 16;
export const MAX_AFFINITY: u32 = 1 << 24;
export const AFFINITY_BYTES: u32 = 32;
export const CIRCUIT_BYTES: u32 = 8;
export const LAYOUT_VERSION: u32 = 3;
export const MAGIC: u32 = 0x43585045; // "EPXC" little-endian

// Inside a lane.
export const LANE_KEY: u32 = 64;
export const LANE_SWEEP_MIN: u32 = 80;
export const LANE_SWEEP_START: u32 = 88;

export const FLAG_PRESENT: u8 = 1;
export const FLAG_HEALTHY: u8 = 2;
export const FLAG_LOCAL: u8 = 4;
export const FLAG_CIRCUIT_OPEN: u8 = 8;
export const FLAG_CANDIDATE: u8 = 16;
/** The active health check failed (issue #4): excluded like !HEALTHY; kept by setSlot, dropped by clearSlot. */
export const FLAG_PROBE_DOWN: u8 = 32;

/** A country/region code no slot can hold: client codes outside 1..0xFFFE become this (no tier match). */
export const NO_MATCH: u32 = 0xffff;

@unmanaged export class Header {
  magic: u32;
  version: u32;
  capacity: u32;
  padded: u32;
  /** One past the highest present slot (control plane writes, the scans read). */
  top: u32;
  bucketCapacity: u32;
  end: u32;
  /** Mixed into the bucket and affinity hashes (set by seedBuckets) so clients cannot aim at one probe window. */
  bucketSeed: u32;
  /** Buckets taken over before they had refilled (the table was full around the key). */
  evictions: u32;
  lanes: u32;
  affinityCapacity: u32;
  /** Live bindings dropped to make room (the table was full around the key). */
  affinityEvictions: u32;
  /** No open circuit was opened before this time (+inf: none); lets advanceCircuit return at once. */
  earliestOpenMs: f64;
  /** epoch << 1 | the buffer holding that epoch's route publication (0 before the first). */
  publishWord: u32;
  /** Bytes in each of the two publication buffers. */
  publishBytes: u32;
  publishLength0: u32;
  publishLength1: u32;
  /** Affinity entries holding a key (live or expired and not yet collected). */
  affinityCount: u32;
}

export const REGION_COUNTRY: i32 = 0;
export const REGION_REGION: i32 = 1;
export const REGION_FKEY: i32 = 2;
export const REGION_FKEY_BASE: i32 = 3;
export const REGION_FLAGS: i32 = 4;
export const REGION_ACTIVE: i32 = 5;
export const REGION_HARD: i32 = 6;
export const REGION_SOFT: i32 = 7;
export const REGION_WEIGHT: i32 = 8;
export const REGION_LOAD_INT: i32 = 9;
export const REGION_LOAD_REM: i32 = 10;
export const REGION_SEQ: i32 = 11;
export const REGION_INCARNATION: i32 = 12;
export const REGION_SW: i32 = 13;
export const REGION_CIRCUIT: i32 = 14;
export const REGION_TRIED: i32 = 15;
export const REGION_COUNT: i32 = 16;

// Areas after the per-slot regions, for areaOffset().
export const AREA_LANES: i32 = 0;
export const AREA_BUCKETS: i32 = 1;
export const AREA_AFFINITY: i32 = 2;
export const AREA_PUBLISH: i32 = 3;
export const AREA_END: i32 = 4;

/** Bytes per slot of a region, in map order (TRIED: per lane). */
export function regionBytes(region: i32): u32 {
  switch (region) {
    case REGION_COUNTRY: case REGION_REGION: case REGION_FKEY: case REGION_FKEY_BASE: return sizeof<u16>();
    case REGION_FLAGS: return sizeof<u8>();
    case REGION_ACTIVE: case REGION_HARD: case REGION_SOFT: case REGION_WEIGHT:
    case REGION_LOAD_INT: case REGION_LOAD_REM: case REGION_SEQ: case REGION_INCARNATION: case REGION_TRIED: return sizeof<u32>();
    case REGION_SW: return sizeof<u64>();
    case REGION_CIRCUIT: return CIRCUIT_BYTES;
    default: return 0;
  }
}

/** Byte offset of a region from MAP_BASE for P padded slots and L lanes (REGION_COUNT gives the regions' end). */
export function regionOffsetFor(region: i32, padded: u32, lanes: u32): u32 {
  let offset = HEADER_BYTES + LANE_BYTES * lanes;
  for (let r = 0; r < region; r++) offset += regionBytes(r) * padded * (r == REGION_TRIED ? lanes : 1);
  return offset;
}

// Absolute addresses, set by attach(); the hot paths read these globals (per instance).
export const header = changetype<Header>(MAP_BASE);
export let LANE: usize = 0;
export let SCRATCH: usize = 0;
export let KEY: usize = 0;
export let COUNTRY: usize = 0;
export let REGION: usize = 0;
export let FKEY: usize = 0;
export let FKEY_BASE: usize = 0;
export let FLAGS: usize = 0;
export let ACTIVE: usize = 0;
export let HARD: usize = 0;
export let SOFT: usize = 0;
export let WEIGHT: usize = 0;
export let LOAD_INT: usize = 0;
export let LOAD_REM: usize = 0;
export let SEQ: usize = 0;
export let INCARNATION: usize = 0;
export let SW: usize = 0;
export let CIRCUIT: usize = 0;
/** This instance's TRIED lane. */
export let TRIED: usize = 0;
export let BUCKETS: usize = 0;
export let AFFINITY: usize = 0;
export let PUBLISH: usize = 0;
let attachedLane: i32 = -1;

/** Whether init() has laid the map out (the header lies past the initial memory until then). */
export function initialised(): bool {
  return (<usize>memory.size() << 16) >= MAP_BASE + HEADER_BYTES && atomic.load<u32>(MAP_BASE) == MAGIC;
}

/** Absolute address of a region after attach() (0 before): what the host's views are built on. */
export function regionOffset(region: i32): u32 {
  return attachedLane >= 0 ? MAP_BASE + regionOffsetFor(region, header.padded, header.lanes) : 0;
}

/** Absolute address of an area (AREA_*) after attach(), 0 before. */
export function areaOffset(area: i32): u32 {
  if (attachedLane < 0) return 0;
  switch (area) {
    case AREA_LANES: return MAP_BASE + HEADER_BYTES;
    case AREA_BUCKETS: return <u32>BUCKETS;
    case AREA_AFFINITY: return <u32>AFFINITY;
    case AREA_PUBLISH: return <u32>PUBLISH;
    case AREA_END: return header.end;
    default: return 0;
  }
}

export function headerField(field: i32): u32 {
  switch (field) {
    case 0: return offsetof<Header>("magic");
    case 1: return offsetof<Header>("version");
    case 2: return offsetof<Header>("capacity");
    case 3: return offsetof<Header>("padded");
    case 4: return offsetof<Header>("top");
    case 5: return offsetof<Header>("bucketCapacity");
    case 6: return offsetof<Header>("end");
    case 7: return offsetof<Header>("bucketSeed");
    case 8: return offsetof<Header>("evictions");
    case 9: return offsetof<Header>("lanes");
    case 10: return offsetof<Header>("affinityCapacity");
    case 11: return offsetof<Header>("affinityEvictions");
    case 12: return offsetof<Header>("earliestOpenMs");
    case 13: return offsetof<Header>("publishWord");
    case 14: return offsetof<Header>("publishBytes");
    case 15: return offsetof<Header>("publishLength0");
    case 16: return offsetof<Header>("publishLength1");
    case 17: return offsetof<Header>("affinityCount");
    default: return offsetof<Header>();
  }
}

export const INIT_OK: i32 = 0;
export const INIT_BAD_CAPACITY: i32 = 1;
export const INIT_TWICE: i32 = 2;
export const INIT_NO_MEMORY: i32 = 3;
export const INIT_DATA_OVERLAP: i32 = 4;
export const INIT_BAD_BUCKETS: i32 = 5;
export const INIT_BAD_LANES: i32 = 6;
export const INIT_BAD_AFFINITY: i32 = 7;
export const INIT_BAD_PUBLISH: i32 = 8;
export const INIT_NOT_LAID_OUT: i32 = 9;
export const INIT_BAD_LANE: i32 = 10;
export const INIT_BAD_VERSION: i32 = 11;

// @ts-ignore: decorator
@inline function tableSizeOk(n: u32, max: u32): bool {
  return n == 0 || (n >= MIN_BUCKETS && n <= max && popcnt(n) == 1);
}

/** Lay the map out, once per memory (the first instance; the others only attach). Fresh shared memory
 *  is zero, which is every region's start state but the filter keys'. */
export function init(capacity: u32, bucketCapacity: u32, lanes: u32, affinityCapacity: u32, publishBytes: u32): i32 {
  if (capacity == 0 || capacity > MAX_CAPACITY) return INIT_BAD_CAPACITY;
  if (!tableSizeOk(bucketCapacity, MAX_BUCKETS)) return INIT_BAD_BUCKETS;
  if (lanes == 0 || lanes > MAX_LANES) return INIT_BAD_LANES;
  if (!tableSizeOk(affinityCapacity, MAX_AFFINITY)) return INIT_BAD_AFFINITY;
  if ((publishBytes & 15) != 0 || publishBytes > (1 << 30)) return INIT_BAD_PUBLISH;
  if (__heap_base > MAP_BASE) return INIT_DATA_OVERLAP;
  if (initialised()) return INIT_TWICE;
  const padded = (capacity + SLOT_ALIGN - 1) & ~(SLOT_ALIGN - 1);
  const buckets = <u64>MAP_BASE + regionOffsetFor(REGION_COUNT, padded, lanes);
  const affinity = buckets + <u64>bucketCapacity * BUCKET_BYTES;
  const publish = affinity + <u64>affinityCapacity * AFFINITY_BYTES;
  const end = publish + 2 * <u64>publishBytes;
  if (end > 0xffff0000) return INIT_NO_MEMORY;
  const pages = <i32>((end + 0xffff) >> 16);
  const have = memory.size();
  if (pages > have && memory.grow(pages - have) < 0) return INIT_NO_MEMORY;

  const fkey = MAP_BASE + regionOffsetFor(REGION_FKEY, padded, lanes);
  memory.fill(fkey, 0xff, <usize>padded << 2); // FKEY and FKEY_BASE: "not a candidate"
  header.version = LAYOUT_VERSION;
  header.capacity = capacity;
  header.padded = padded;
  header.top = 0;
  header.bucketCapacity = bucketCapacity;
  header.end = <u32>end;
  header.bucketSeed = 0;
  header.evictions = 0;
  header.lanes = lanes;
  header.affinityCapacity = affinityCapacity;
  header.affinityEvictions = 0;
  header.earliestOpenMs = Infinity;
  header.publishWord = 0;
  header.publishBytes = publishBytes;
  header.publishLength0 = 0;
  header.publishLength1 = 0;
  header.affinityCount = 0;
  atomic.store<u32>(MAP_BASE, MAGIC); // last: attach() in other threads waits for it
  return INIT_OK;
}

/** Point this instance's globals at the laid-out map, using `lane` (0..lanes-1) for its own scratch,
 *  client key and tried marks. An instance may attach again (to another lane). */
export function attach(lane: u32): i32 {
  if (!initialised()) return INIT_NOT_LAID_OUT;
  if (header.version != LAYOUT_VERSION) return INIT_BAD_VERSION;
  const lanes = header.lanes, padded = header.padded;
  if (lane >= lanes) return INIT_BAD_LANE;
  LANE = MAP_BASE + HEADER_BYTES + <usize>lane * LANE_BYTES;
  SCRATCH = LANE;
  KEY = LANE + LANE_KEY;
  COUNTRY = MAP_BASE + regionOffsetFor(REGION_COUNTRY, padded, lanes);
  REGION = MAP_BASE + regionOffsetFor(REGION_REGION, padded, lanes);
  FKEY = MAP_BASE + regionOffsetFor(REGION_FKEY, padded, lanes);
  FKEY_BASE = MAP_BASE + regionOffsetFor(REGION_FKEY_BASE, padded, lanes);
  FLAGS = MAP_BASE + regionOffsetFor(REGION_FLAGS, padded, lanes);
  ACTIVE = MAP_BASE + regionOffsetFor(REGION_ACTIVE, padded, lanes);
  HARD = MAP_BASE + regionOffsetFor(REGION_HARD, padded, lanes);
  SOFT = MAP_BASE + regionOffsetFor(REGION_SOFT, padded, lanes);
  WEIGHT = MAP_BASE + regionOffsetFor(REGION_WEIGHT, padded, lanes);
  LOAD_INT = MAP_BASE + regionOffsetFor(REGION_LOAD_INT, padded, lanes);
  LOAD_REM = MAP_BASE + regionOffsetFor(REGION_LOAD_REM, padded, lanes);
  SEQ = MAP_BASE + regionOffsetFor(REGION_SEQ, padded, lanes);
  INCARNATION = MAP_BASE + regionOffsetFor(REGION_INCARNATION, padded, lanes);
  SW = MAP_BASE + regionOffsetFor(REGION_SW, padded, lanes);
  CIRCUIT = MAP_BASE + regionOffsetFor(REGION_CIRCUIT, padded, lanes);
  TRIED = MAP_BASE + regionOffsetFor(REGION_TRIED, padded, lanes) + <usize>lane * padded * 4;
  BUCKETS = MAP_BASE + regionOffsetFor(REGION_COUNT, padded, lanes);
  AFFINITY = BUCKETS + <usize>header.bucketCapacity * BUCKET_BYTES;
  PUBLISH = AFFINITY + <usize>header.affinityCapacity * AFFINITY_BYTES;
  // A lane may be reused (a restarted worker): marks left by its previous instance must not match.
  memory.fill(TRIED, 0, <usize>padded << 2);
  attachedLane = <i32>lane;
  return INIT_OK;
}

/** 64-bit keyed hash of the 16-byte client key at KEY, never 0 (0 marks an empty entry). Bijective on
 *  IPv4 clients (their first 8 bytes are all the same), so two IPv4 clients never share an entry. */
export function clientHash(salt: u64): u64 {
  const k0 = load<u64>(KEY), k1 = load<u64>(KEY + 8);
  const h = mix64(mix64(k0 ^ (<u64>header.bucketSeed | salt)) ^ k1);
  return h == 0 ? 1 : h;
}

// @ts-ignore: decorator
@inline export function mix64(h: u64): u64 {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccd;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53;
  h ^= h >> 33;
  return h;
}

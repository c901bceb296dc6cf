// THE memory map of the decision core. src/engine/layout.ts mirrors it; the host checks the mirror
// against regionOffset()/regionBytes() and the constants below every time it loads the module.
//
// Page 0 belongs to the compiler (static data, stub runtime); the map starts at MAP_BASE. Per-slot
// data is struct-of-arrays: one region per attribute, P = capacity rounded up to SLOT_ALIGN (16), so every
// region starts 16-byte aligned and the scan (8-slot SIMD blocks, up to the top slot) never reads past it.
//
//   offset from MAP_BASE   region     per slot  holds
//   ────────────────────   ────────   ────────  ──────────────────────────────────────────────────────
//   0                      HEADER     (64 B)    Header: magic, version, capacity, P, top, …
//   64                     SCRATCH    (64 B)    the scan spills one step's 32 filter keys here
//   128                    COUNTRY    u16       countryCode() of the backend, 0 = none
//   128 +  2P              REGION     u16       interned region id, 1..0xFFFE
//   128 +  4P              FKEY       u16       scan filter key for tiers 0/1: floor(128 * load), see below
//   128 +  6P              FKEY_BASE  u16       FKEY + 25,600 (local) or + 38,400 (elsewhere): tiers 2/3
//   128 +  8P              FLAGS      u8        PRESENT | HEALTHY | LOCAL | CIRCUIT_OPEN | CANDIDATE | PROBE_DOWN
//   128 +  9P              ACTIVE     u32       live connections (kept across setSlot/clearSlot)
//   128 + 13P              HARD       u32       hard limit, 0..1,000,000
//   128 + 17P              SOFT       u32       soft limit, 1..1,000,000
//   128 + 21P              WEIGHT     u32       weight, 1..1,000,000
//   128 + 25P              LOAD_INT   u32       floor(active / sw)        (load = active / sw exactly
//   128 + 29P              LOAD_REM   u32       active - LOAD_INT * sw     = LOAD_INT + LOAD_REM / sw)
//   128 + 33P              TRIED      u32       attempt id that last tried the slot, 0 = none
//   128 + 37P              SW         u64       soft * weight, 1..10^12
//   128 + 45P              CIRCUIT    16 B      per-backend circuit (circuit.ts); FLAGS.CIRCUIT_OPEN = it keeps
//                                               the slot out (open, or half-open with every probe in flight)
//   128 + 61P              BUCKETS    (32 B     per-client token buckets (token-bucket.ts), not per slot:
//                                     + 32 B·B) B = init()'s bucketCapacity, 0 or a power of two >= 16
//   128 + 61P + 32 + 32B   END
//
// CIRCUIT record (16 B):   0 state u8 (0 closed, 1 open, 2 half-open) · 1 pad · 2 failures u16 (closed:
//                          consecutive) · 4 successes u16 (half-open) · 6 probes u16 (half-open, in
//                          flight) · 8 opened_at_ms f64
// BUCKETS:                 0 KEY 16 B (the host writes the client's 16-byte address here) · 16 pad ·
//                          32 + 32 i: entry i = key 16 B · deficit f64 (burst - tokens) · last_ms f64.
//                          All-zero = a full bucket of the address ::, the same as "never seen": no
//                          occupancy flag, and a bucket that refilled is free for any key.
//
// Bounds: limits and weights are <= 1,000,000 (validated by the host), so active < 2^20, sw <= 10^12,
// active * sw < 2^60 and LOAD_REM * sw < 2^60: every exact comparison fits u64.
// FKEY = floor(128 * active / sw) while LOAD_INT < 200 (<= 25,599), 0 above that (= "compare exactly"),
// 0xFFFF when the slot is not a candidate. FKEY + tier * 12,800 is then a lower bound of
// floor(128 * score) and < 0xFFFE, which is all the scan needs to skip 32 slots at once (see score.ts).

export const MAP_BASE: u32 = 65536;
export const HEADER_BYTES: u32 = 64;
export const SCRATCH_BYTES: u32 = 64;
export const SLOT_ALIGN: u32 = 16;
export const LANES: u32 = 8;
export const MAX_CAPACITY: u32 = 1 << 20;
export const MAX_BUCKETS: u32 = 1 << 24;
export const MIN_BUCKETS: u32 = 16;
export const BUCKET_HEAD_BYTES: u32 = 32;
export const BUCKET_BYTES: u32 = 32;
export const CIRCUIT_BYTES: u32 = 16;
export const LAYOUT_VERSION: u32 = 2;
export const MAGIC: u32 = 0x43585045; // "EPXC" little-endian

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
  top: u32;
  bucketCapacity: u32;
  end: u32;
  /** Mixed into the bucket hash (set by seedBuckets) so clients cannot aim at one probe window. */
  bucketSeed: u32;
  /** Buckets taken over before they had refilled (the table was full around the key). */
  evictions: u32;
  /** No open circuit was opened before this time (+inf: none); lets advanceCircuit return at once. */
  earliestOpenMs: f64;
  /** Running minimum of a sweep in progress (advanceCircuit from 0 to the end). */
  sweepOpenMs: f64;
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
export const REGION_TRIED: i32 = 11;
export const REGION_SW: i32 = 12;
export const REGION_CIRCUIT: i32 = 13;
export const REGION_COUNT: i32 = 14;

/** Bytes per slot of a region, in map order. */
export function regionBytes(region: i32): u32 {
  switch (region) {
    case REGION_COUNTRY: case REGION_REGION: case REGION_FKEY: case REGION_FKEY_BASE: return sizeof<u16>();
    case REGION_FLAGS: return sizeof<u8>();
    case REGION_ACTIVE: case REGION_HARD: case REGION_SOFT: case REGION_WEIGHT:
    case REGION_LOAD_INT: case REGION_LOAD_REM: case REGION_TRIED: return sizeof<u32>();
    case REGION_SW: return sizeof<u64>();
    case REGION_CIRCUIT: return CIRCUIT_BYTES;
    default: return 0;
  }
}

/** Byte offset of a region from MAP_BASE for P padded slots (REGION_COUNT gives the map's end). */
export function regionOffsetFor(region: i32, padded: u32): u32 {
  let offset = HEADER_BYTES + SCRATCH_BYTES;
  for (let r = 0; r < region; r++) offset += regionBytes(r) * padded;
  return offset;
}

// Absolute region addresses, fixed by init(); the hot paths read these globals.
export const header = changetype<Header>(MAP_BASE);
export const SCRATCH: usize = MAP_BASE + HEADER_BYTES;
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
export let TRIED: usize = 0;
export let SW: usize = 0;
export let CIRCUIT: usize = 0;
export let BUCKETS: usize = 0;
/** First bucket entry (BUCKETS + BUCKET_HEAD_BYTES). */
export let ENTRIES: usize = 0;

/** Absolute address of a region after init() (0 before): what the host's views are built on. */
export function regionOffset(region: i32): u32 {
  return initialised() ? MAP_BASE + regionOffsetFor(region, header.padded) : 0;
}

/** Whether init() has laid the map out (the header lies past the initial memory until then). */
export function initialised(): bool {
  return (<usize>memory.size() << 16) >= MAP_BASE + HEADER_BYTES && header.magic == MAGIC;
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
    case 9: return offsetof<Header>("earliestOpenMs");
    case 10: return offsetof<Header>("sweepOpenMs");
    default: return offsetof<Header>();
  }
}

export const INIT_OK: i32 = 0;
export const INIT_BAD_CAPACITY: i32 = 1;
export const INIT_TWICE: i32 = 2;
export const INIT_NO_MEMORY: i32 = 3;
export const INIT_DATA_OVERLAP: i32 = 4;
export const INIT_BAD_BUCKETS: i32 = 5;

/** Address of the token-bucket area (its KEY first) after init(), 0 before. */
export function bucketsOffset(): u32 {
  return initialised() ? <u32>BUCKETS : 0;
}

/** Lay the map out for `capacity` slots and `bucketCapacity` token buckets and grow memory to hold it. Once per instance. */
export function init(capacity: u32, bucketCapacity: u32): i32 {
  if (capacity == 0 || capacity > MAX_CAPACITY) return INIT_BAD_CAPACITY;
  if (bucketCapacity != 0 && (bucketCapacity < MIN_BUCKETS || bucketCapacity > MAX_BUCKETS || popcnt(bucketCapacity) != 1)) return INIT_BAD_BUCKETS;
  if (__heap_base > MAP_BASE) return INIT_DATA_OVERLAP;
  if (initialised()) return INIT_TWICE;
  const padded = (capacity + SLOT_ALIGN - 1) & ~(SLOT_ALIGN - 1);
  const buckets = MAP_BASE + regionOffsetFor(REGION_COUNT, padded);
  const end = buckets + BUCKET_HEAD_BYTES + bucketCapacity * BUCKET_BYTES;
  const pages = (end + 0xffff) >>> 16;
  const have = <u32>memory.size();
  if (pages > have && memory.grow(pages - have) < 0) return INIT_NO_MEMORY;

  COUNTRY = MAP_BASE + regionOffsetFor(REGION_COUNTRY, padded);
  REGION = MAP_BASE + regionOffsetFor(REGION_REGION, padded);
  FKEY = MAP_BASE + regionOffsetFor(REGION_FKEY, padded);
  FKEY_BASE = MAP_BASE + regionOffsetFor(REGION_FKEY_BASE, padded);
  FLAGS = MAP_BASE + regionOffsetFor(REGION_FLAGS, padded);
  ACTIVE = MAP_BASE + regionOffsetFor(REGION_ACTIVE, padded);
  HARD = MAP_BASE + regionOffsetFor(REGION_HARD, padded);
  SOFT = MAP_BASE + regionOffsetFor(REGION_SOFT, padded);
  WEIGHT = MAP_BASE + regionOffsetFor(REGION_WEIGHT, padded);
  LOAD_INT = MAP_BASE + regionOffsetFor(REGION_LOAD_INT, padded);
  LOAD_REM = MAP_BASE + regionOffsetFor(REGION_LOAD_REM, padded);
  TRIED = MAP_BASE + regionOffsetFor(REGION_TRIED, padded);
  SW = MAP_BASE + regionOffsetFor(REGION_SW, padded);
  CIRCUIT = MAP_BASE + regionOffsetFor(REGION_CIRCUIT, padded);
  BUCKETS = buckets;
  ENTRIES = buckets + BUCKET_HEAD_BYTES;

  // Fresh pages are zero; only the "not a candidate" filter keys need a non-zero start.
  memory.fill(FKEY, 0xff, <usize>padded << 1);
  memory.fill(FKEY_BASE, 0xff, <usize>padded << 1);
  header.magic = MAGIC;
  header.version = LAYOUT_VERSION;
  header.capacity = capacity;
  header.padded = padded;
  header.top = 0;
  header.bucketCapacity = bucketCapacity;
  header.end = end;
  header.bucketSeed = 0;
  header.evictions = 0;
  header.earliestOpenMs = Infinity;
  header.sweepOpenMs = Infinity;
  return INIT_OK;
}

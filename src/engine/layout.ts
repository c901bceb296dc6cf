// Host mirror of assembly/layout.ts (THE memory map, drawn there). checkLayout() compares every constant
// and offset here with what the loaded module exports, so a drifted mirror fails at load, not silently.

export const MAP_BASE = 65_536;
export const HEADER_BYTES = 128;
/** Per engine instance (lane): the scan's scratch, the client key, the circuit sweep's running minimum. */
export const LANE_BYTES = 128;
export const SCRATCH_BYTES = 64;
/** Offset of the 16-byte client key inside a lane (the host writes it before takeToken/affinity*). */
export const LANE_KEY = 64;
export const SLOT_ALIGN = 16;
export const LANES = 8;
export const MAX_CAPACITY = 1 << 20;
export const MAX_LANES = 1024;
export const LAYOUT_VERSION = 3;
/** Token-bucket table: 0 or a power of two in MIN_BUCKETS..MAX_BUCKETS entries of BUCKET_BYTES. */
export const MIN_BUCKETS = 16;
export const MAX_BUCKETS = 1 << 24;
export const BUCKET_BYTES = 16;
/** Affinity table: 0 or a power of two in MIN_BUCKETS..MAX_AFFINITY entries of AFFINITY_BYTES. */
export const MAX_AFFINITY = 1 << 24;
export const AFFINITY_BYTES = 32;
/** Circuit word per slot (u64, see assembly/layout.ts); read through circuitState(), not a view. */
export const CIRCUIT_BYTES = 8;
export const MAGIC = 0x43585045;
export const NO_MATCH = 0xffff;
/** Declared by the module (--maximumMemory): the most pages a host memory may have. */
export const MAX_PAGES = 65_536;

export const Flag = {
  PRESENT: 1,
  HEALTHY: 2,
  LOCAL: 4,
  CIRCUIT_OPEN: 8,
  CANDIDATE: 16,
  PROBE_DOWN: 32,
} as const;

/** Per-slot regions in map order with their bytes per slot; the index is the module's region id.
 *  TRIED holds one u32 per slot per lane. */
export const REGIONS = [
  { name: "COUNTRY", bytes: 2 },
  { name: "REGION", bytes: 2 },
  { name: "FKEY", bytes: 2 },
  { name: "FKEY_BASE", bytes: 2 },
  { name: "FLAGS", bytes: 1 },
  { name: "ACTIVE", bytes: 4 },
  { name: "HARD", bytes: 4 },
  { name: "SOFT", bytes: 4 },
  { name: "WEIGHT", bytes: 4 },
  { name: "LOAD_INT", bytes: 4 },
  { name: "LOAD_REM", bytes: 4 },
  { name: "SEQ", bytes: 4 },
  { name: "INCARNATION", bytes: 4 },
  { name: "SW", bytes: 8 },
  { name: "CIRCUIT", bytes: CIRCUIT_BYTES },
  { name: "TRIED", bytes: 4 },
] as const;

export type RegionName = (typeof REGIONS)[number]["name"];

/** Areas after the per-slot regions, in the module's areaOffset() order. */
export const AREAS = ["LANES", "BUCKETS", "AFFINITY", "PUBLISH", "END"] as const;

/** Header fields in the module's headerField() order with their byte offsets inside the header. */
export const HEADER_FIELDS = [
  { name: "magic", offset: 0 },
  { name: "version", offset: 4 },
  { name: "capacity", offset: 8 },
  { name: "padded", offset: 12 },
  { name: "top", offset: 16 },
  { name: "bucketCapacity", offset: 20 },
  { name: "end", offset: 24 },
  { name: "bucketSeed", offset: 28 },
  { name: "evictions", offset: 32 },
  { name: "lanes", offset: 36 },
  { name: "affinityCapacity", offset: 40 },
  { name: "affinityEvictions", offset: 44 },
  { name: "earliestOpenMs", offset: 48 },
  { name: "publishWord", offset: 56 },
  { name: "publishBytes", offset: 60 },
  { name: "publishLength0", offset: 64 },
  { name: "publishLength1", offset: 68 },
  { name: "affinityCount", offset: 72 },
] as const;
export const HEADER_USED = 76;
export type HeaderField = (typeof HEADER_FIELDS)[number]["name"];
/** Byte offset of a header field (u32 fields are read with Atomics on an Int32Array view). */
export function headerOffset(name: HeaderField): number {
  return HEADER_FIELDS.find((f) => f.name === name)!.offset;
}

/** What one shared engine memory holds; every instance attached to it sees the same shape. */
export interface EngineShape {
  /** Backend slots, 1..MAX_CAPACITY. */
  readonly capacity: number;
  /** Token buckets: 0 or a power of two in 16..2^24 (bucketCapacityFor). */
  readonly bucketCapacity: number;
  /** Engine instances that may be attached at once (one per worker thread, plus the control plane). */
  readonly lanes: number;
  /** Affinity entries: 0 or a power of two in 16..2^24 (affinityCapacityFor). */
  readonly affinityCapacity: number;
  /** Bytes of each of the two route publication buffers (a multiple of 16; 0 = no publication). */
  readonly publishBytes: number;
}

/** Capacity rounded up so every region is 16-byte aligned and the 8-slot SIMD blocks stay inside it. */
export function paddedCapacity(capacity: number): number {
  return Math.ceil(capacity / SLOT_ALIGN) * SLOT_ALIGN;
}

/** Table entries for a requested count: the next power of two, at least MIN_BUCKETS. */
export function bucketCapacityFor(clients: number): number {
  let capacity = MIN_BUCKETS;
  while (capacity < clients) capacity *= 2;
  return capacity;
}

/** Affinity entries for `bindings` clients: a power of two with room to spare, so probe windows rarely fill. */
export function affinityCapacityFor(bindings: number): number {
  return bindings <= 0 ? 0 : Math.min(MAX_AFFINITY, bucketCapacityFor(Math.ceil(bindings * 1.25)));
}

/** Absolute byte address of each per-slot region (TRIED: lane 0's), the areas after them, and the map's end. */
export function layoutFor(shape: EngineShape): {
  readonly addresses: Readonly<Record<RegionName, number>>;
  readonly lanes: number;
  readonly buckets: number;
  readonly affinity: number;
  readonly publish: number;
  readonly end: number;
} {
  const padded = paddedCapacity(shape.capacity);
  const addresses = {} as Record<RegionName, number>;
  const lanes = MAP_BASE + HEADER_BYTES;
  let offset = lanes + LANE_BYTES * shape.lanes;
  for (const region of REGIONS) {
    addresses[region.name] = offset;
    offset += region.bytes * padded * (region.name === "TRIED" ? shape.lanes : 1);
  }
  const buckets = offset;
  const affinity = buckets + shape.bucketCapacity * BUCKET_BYTES;
  const publish = affinity + shape.affinityCapacity * AFFINITY_BYTES;
  return { addresses, lanes, buckets, affinity, publish, end: publish + 2 * shape.publishBytes };
}

/** Pages of a memory that holds the map of `shape`. */
export function pagesFor(shape: EngineShape): number {
  return Math.ceil(layoutFor(shape).end / 65_536);
}

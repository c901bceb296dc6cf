// Host mirror of assembly/layout.ts (THE memory map, drawn there). checkLayout() compares every constant
// and offset here with what the loaded module exports, so a drifted mirror fails at load, not silently.

export const MAP_BASE = 65_536;
export const HEADER_BYTES = 64;
/** The scan's spill area for one step's 32 filter keys, right after the header. */
export const SCRATCH_BYTES = 64;
export const SLOT_ALIGN = 16;
export const LANES = 8;
export const MAX_CAPACITY = 1 << 20;
export const LAYOUT_VERSION = 2;
/** Token-bucket table: 0 or a power of two in MIN_BUCKETS..MAX_BUCKETS entries of BUCKET_BYTES, after a
 *  BUCKET_HEAD_BYTES head whose first 16 bytes are the KEY the host writes before takeToken(). */
export const MIN_BUCKETS = 16;
export const MAX_BUCKETS = 1 << 24;
export const BUCKET_HEAD_BYTES = 32;
export const BUCKET_BYTES = 32;
/** Circuit record per slot: state u8 at 0 (CircuitState), failures/successes/probes u16 at 2/4/6, opened_at f64 at 8. */
export const CIRCUIT_BYTES = 16;
export const MAGIC = 0x43585045;
export const NO_MATCH = 0xffff;

export const Flag = {
  PRESENT: 1,
  HEALTHY: 2,
  LOCAL: 4,
  CIRCUIT_OPEN: 8,
  CANDIDATE: 16,
  PROBE_DOWN: 32,
} as const;

/** Per-slot regions in map order with their bytes per slot; the index is the module's region id. */
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
  { name: "TRIED", bytes: 4 },
  { name: "SW", bytes: 8 },
  { name: "CIRCUIT", bytes: CIRCUIT_BYTES },
] as const;

export type RegionName = (typeof REGIONS)[number]["name"];

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
  { name: "earliestOpenMs", offset: 40 },
  { name: "sweepOpenMs", offset: 48 },
] as const;
export const HEADER_USED = 56;
/** Byte offset of header.evictions (u32), read by the host for metrics. */
export const HEADER_EVICTIONS = 32;

/** Capacity rounded up so every region is 16-byte aligned and the 8-slot SIMD blocks stay inside it. */
export function paddedCapacity(capacity: number): number {
  return Math.ceil(capacity / SLOT_ALIGN) * SLOT_ALIGN;
}

/** Bucket entries for a requested client capacity: the next power of two, at least MIN_BUCKETS. */
export function bucketCapacityFor(clients: number): number {
  let capacity = MIN_BUCKETS;
  while (capacity < clients) capacity *= 2;
  return capacity;
}

/** The token-bucket area for `bucketCapacity` entries, after the per-slot regions ending at `start`. */
export function bucketAddresses(start: number, bucketCapacity: number): { readonly key: number; readonly entries: number; readonly end: number } {
  return { key: start, entries: start + BUCKET_HEAD_BYTES, end: start + BUCKET_HEAD_BYTES + bucketCapacity * BUCKET_BYTES };
}

/** Absolute byte address of each per-slot region for a capacity, plus where they end (the bucket area's start). */
export function regionAddresses(capacity: number): { readonly addresses: Readonly<Record<RegionName, number>>; readonly end: number } {
  const padded = paddedCapacity(capacity);
  const addresses = {} as Record<RegionName, number>;
  let offset = MAP_BASE + HEADER_BYTES + SCRATCH_BYTES;
  for (const region of REGIONS) {
    addresses[region.name] = offset;
    offset += region.bytes * padded;
  }
  return { addresses, end: offset };
}

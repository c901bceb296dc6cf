// Loads the embedded decision core: decode once, compile once, one instance per engine, no imports,
// and the host layout mirror checked against the module before anything is written into its memory.

import { CORE_WASM_BASE64 } from "./core-wasm.generated.ts";
import {
  MAP_BASE, HEADER_BYTES, SCRATCH_BYTES, SLOT_ALIGN, LANES, MAX_CAPACITY, LAYOUT_VERSION, MAGIC, NO_MATCH, Flag, REGIONS,
  HEADER_FIELDS, HEADER_USED, MIN_BUCKETS, MAX_BUCKETS, BUCKET_HEAD_BYTES, BUCKET_BYTES, CIRCUIT_BYTES, regionAddresses, bucketAddresses,
} from "./layout.ts";

/** What assembly/index.ts exports (constants arrive as WebAssembly.Global). */
export interface CoreExports {
  readonly memory: WebAssembly.Memory;
  init(capacity: number, bucketCapacity: number): number;
  regionOffset(region: number): number;
  bucketsOffset(): number;
  regionBytes(region: number): number;
  headerField(field: number): number;
  setSlot(slot: number, country: number, region: number, healthy: number, local: number, weight: number, soft: number, hard: number): void;
  clearSlot(slot: number): void;
  setHealthy(slot: number, healthy: number): void;
  setProbeDown(slot: number, down: number): void;
  acquire(slot: number): number;
  release(slot: number): void;
  select(clientCountry: number, clientRegion: number, attempt: number, seed: number): number;
  circuitAdmit(slot: number, probeLimit: number): number;
  circuitSuccess(slot: number, successThreshold: number, probe: number): number;
  circuitFailure(slot: number, nowMs: number, failureThreshold: number): number;
  advanceCircuit(from: number, nowMs: number, timeoutMs: number): number;
  resetCircuits(): void;
  circuitState(slot: number): number;
  takeToken(nowMs: number, burst: number, maxRequests: number, windowMs: number): number;
  seedBuckets(seed: number): void;
}

const INIT_ERRORS: Readonly<Record<number, string>> = {
  1: `capacity must be an integer in 1..${MAX_CAPACITY}`,
  2: "module initialised twice",
  3: "linear memory could not grow to the requested capacity",
  4: "compiler static data overlaps MAP_BASE",
  5: `bucket capacity must be 0 or a power of two in ${MIN_BUCKETS}..${MAX_BUCKETS}`,
};

let compiled: WebAssembly.Module | undefined;

// Return type left to inference: Uint8Array<ArrayBuffer> where the TS lib is generic, as BufferSource wants.
function decodeBase64(text: string) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function globalValue(exports: WebAssembly.Exports, name: string): number {
  const value = exports[name];
  if (!(value instanceof WebAssembly.Global)) throw new Error(`[edgeproxy] WASM core: missing export ${name}`);
  return Number(value.value);
}

/** Throws when src/engine/layout.ts no longer describes what the module lays out for `capacity` slots
 *  and `bucketCapacity` token buckets. */
export function checkLayout(exports: WebAssembly.Exports, capacity: number, bucketCapacity = 0): void {
  const core = exports as unknown as CoreExports;
  const mismatches: string[] = [];
  const expect = (what: string, mirror: number, module: number): void => {
    if (mirror !== module) mismatches.push(`${what}: host mirror ${mirror}, module ${module}`);
  };
  const constants: Readonly<Record<string, number>> = {
    MAP_BASE, HEADER_BYTES, SCRATCH_BYTES, SLOT_ALIGN, LANES, MAX_CAPACITY, LAYOUT_VERSION, MAGIC, NO_MATCH,
    REGION_COUNT: REGIONS.length,
    FLAG_PRESENT: Flag.PRESENT, FLAG_HEALTHY: Flag.HEALTHY, FLAG_LOCAL: Flag.LOCAL,
    FLAG_CIRCUIT_OPEN: Flag.CIRCUIT_OPEN, FLAG_CANDIDATE: Flag.CANDIDATE, FLAG_PROBE_DOWN: Flag.PROBE_DOWN,
    MIN_BUCKETS, MAX_BUCKETS, BUCKET_HEAD_BYTES, BUCKET_BYTES, CIRCUIT_BYTES,
  };
  for (const [name, value] of Object.entries(constants)) expect(name, value, globalValue(exports, name));
  HEADER_FIELDS.forEach((field, id) => expect(`header.${field.name}`, field.offset, core.headerField(id)));
  expect("header size", HEADER_USED, core.headerField(HEADER_FIELDS.length));
  const { addresses, end } = regionAddresses(capacity);
  REGIONS.forEach((region, id) => {
    expect(`${region.name} bytes`, region.bytes, core.regionBytes(id));
    expect(`${region.name} address`, addresses[region.name], core.regionOffset(id));
  });
  expect("per-slot end", end, core.regionOffset(REGIONS.length));
  const buckets = bucketAddresses(end, bucketCapacity);
  expect("BUCKETS address", buckets.key, core.bucketsOffset());
  const headerEnd = new Uint32Array(core.memory.buffer, MAP_BASE, HEADER_USED / 4)[HEADER_FIELDS[6].offset / 4]!;
  expect("map end", buckets.end, headerEnd);
  if (mismatches.length > 0) {
    throw new Error(`[edgeproxy] src/engine/layout.ts does not match assembly/layout.ts:\n  ${mismatches.join("\n  ")}`);
  }
}

/** A fresh core instance laid out for `capacity` slots and `bucketCapacity` token buckets, its layout
 *  checked against the host mirror. */
export function instantiateCore(capacity: number, bucketCapacity = 0): CoreExports {
  compiled ??= new WebAssembly.Module(decodeBase64(CORE_WASM_BASE64));
  const instance = new WebAssembly.Instance(compiled, {});
  const core = instance.exports as unknown as CoreExports;
  const status = core.init(capacity, bucketCapacity);
  if (status !== 0) throw new RangeError(`[edgeproxy] WASM core init(${capacity}, ${bucketCapacity}): ${INIT_ERRORS[status] ?? `error ${status}`}`);
  checkLayout(instance.exports, capacity, bucketCapacity);
  return core;
}

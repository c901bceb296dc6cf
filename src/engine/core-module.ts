// Loads the embedded decision core: decode once, compile once, one instance per engine, all importing
// one shared memory created here (createCoreMemory) or received from another thread. The host layout
// mirror is checked against the module before anything is written into the memory.

import { CORE_WASM_BASE64 } from "./core-wasm.generated.ts";
import {
  MAP_BASE, HEADER_BYTES, LANE_BYTES, SCRATCH_BYTES, LANE_KEY, SLOT_ALIGN, LANES, MAX_CAPACITY, MAX_LANES, LAYOUT_VERSION, MAGIC, NO_MATCH, Flag,
  REGIONS, AREAS, HEADER_FIELDS, HEADER_USED, MIN_BUCKETS, MAX_BUCKETS, BUCKET_BYTES, MAX_AFFINITY, AFFINITY_BYTES, CIRCUIT_BYTES, MAX_PAGES,
  layoutFor, pagesFor, type EngineShape,
} from "./layout.ts";

/** What assembly/index.ts exports (constants arrive as WebAssembly.Global). */
export interface CoreExports {
  readonly memory: WebAssembly.Memory;
  init(capacity: number, bucketCapacity: number, lanes: number, affinityCapacity: number, publishBytes: number): number;
  attach(lane: number): number;
  regionOffset(region: number): number;
  areaOffset(area: number): number;
  regionBytes(region: number): number;
  headerField(field: number): number;
  setSlot(slot: number, country: number, region: number, healthy: number, local: number, weight: number, soft: number, hard: number): void;
  clearSlot(slot: number): void;
  setHealthy(slot: number, healthy: number): void;
  setProbeDown(slot: number, down: number): void;
  acquire(slot: number): number;
  release(slot: number): void;
  incarnation(slot: number): number;
  select(clientCountry: number, clientRegion: number, attempt: number, seed: number): number;
  circuitAdmit(slot: number, probeLimit: number): number;
  circuitSuccess(slot: number, successThreshold: number, probe: number): number;
  circuitFailure(slot: number, nowMs: number, failureThreshold: number): number;
  advanceCircuit(from: number, nowMs: number, timeoutMs: number): number;
  resetCircuits(): void;
  circuitState(slot: number): number;
  takeToken(nowMs: number, burst: number, maxRequests: number, windowMs: number): number;
  seedBuckets(seed: number): void;
  affinityLookup(nowMs: number, ttlMs: number): number;
  affinityBind(slot: number, nowMs: number, ttlMs: number): number;
  affinityUnbind(slot: number): number;
  affinityGc(nowMs: number, from: number, count: number): number;
}

const INIT_ERRORS: Readonly<Record<number, string>> = {
  1: `capacity must be an integer in 1..${MAX_CAPACITY}`,
  2: "memory laid out twice",
  3: "linear memory could not hold the requested tables",
  4: "compiler static data overlaps MAP_BASE",
  5: `bucket capacity must be 0 or a power of two in ${MIN_BUCKETS}..${MAX_BUCKETS}`,
  6: `lanes must be an integer in 1..${MAX_LANES}`,
  7: `affinity capacity must be 0 or a power of two in ${MIN_BUCKETS}..${MAX_AFFINITY}`,
  8: "publication buffer size must be a multiple of 16 up to 1 GiB",
  9: "the shared memory has not been laid out (createCoreMemory first)",
  10: "lane out of range for this memory",
  11: "the shared memory was laid out by another version of the module",
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

function initError(what: string, status: number): RangeError {
  return new RangeError(`[edgeproxy] WASM core ${what}: ${INIT_ERRORS[status] ?? `error ${status}`}`);
}

/** Throws when src/engine/layout.ts no longer describes what the module lays out for `shape`. */
export function checkLayout(exports: WebAssembly.Exports, shape: EngineShape): void {
  const core = exports as unknown as CoreExports;
  const mismatches: string[] = [];
  const expect = (what: string, mirror: number, module: number): void => {
    if (mirror !== module) mismatches.push(`${what}: host mirror ${mirror}, module ${module}`);
  };
  const constants: Readonly<Record<string, number>> = {
    MAP_BASE, HEADER_BYTES, LANE_BYTES, SCRATCH_BYTES, LANE_KEY, SLOT_ALIGN, LANES, MAX_CAPACITY, MAX_LANES, LAYOUT_VERSION, MAGIC, NO_MATCH,
    REGION_COUNT: REGIONS.length,
    FLAG_PRESENT: Flag.PRESENT, FLAG_HEALTHY: Flag.HEALTHY, FLAG_LOCAL: Flag.LOCAL,
    FLAG_CIRCUIT_OPEN: Flag.CIRCUIT_OPEN, FLAG_CANDIDATE: Flag.CANDIDATE, FLAG_PROBE_DOWN: Flag.PROBE_DOWN,
    MIN_BUCKETS, MAX_BUCKETS, BUCKET_BYTES, MAX_AFFINITY, AFFINITY_BYTES, CIRCUIT_BYTES,
  };
  for (const [name, value] of Object.entries(constants)) expect(name, value, globalValue(exports, name));
  HEADER_FIELDS.forEach((field, id) => expect(`header.${field.name}`, field.offset, core.headerField(id)));
  expect("header size", HEADER_USED, core.headerField(HEADER_FIELDS.length));
  const map = layoutFor(shape);
  REGIONS.forEach((region, id) => {
    expect(`${region.name} bytes`, region.bytes, core.regionBytes(id));
    expect(`${region.name} address`, map.addresses[region.name], core.regionOffset(id));
  });
  const areas: Readonly<Record<(typeof AREAS)[number], number>> = { LANES: map.lanes, BUCKETS: map.buckets, AFFINITY: map.affinity, PUBLISH: map.publish, END: map.end };
  AREAS.forEach((area, id) => expect(`${area} address`, areas[area], core.areaOffset(id)));
  if (mismatches.length > 0) {
    throw new Error(`[edgeproxy] src/engine/layout.ts does not match assembly/layout.ts:\n  ${mismatches.join("\n  ")}`);
  }
}

/** The shape a laid-out memory was made with, read from its header. */
export function shapeOf(memory: WebAssembly.Memory): EngineShape {
  const header = new Uint32Array(memory.buffer, MAP_BASE, HEADER_USED / 4);
  const field = (name: string): number => header[HEADER_FIELDS.find((f) => f.name === name)!.offset / 4]!;
  if (Atomics.load(header, 0) !== MAGIC) throw initError("attach", 9);
  return {
    capacity: field("capacity"), bucketCapacity: field("bucketCapacity"), lanes: field("lanes"),
    affinityCapacity: field("affinityCapacity"), publishBytes: field("publishBytes"),
  };
}

function instantiate(memory: WebAssembly.Memory): CoreExports {
  compiled ??= new WebAssembly.Module(decodeBase64(CORE_WASM_BASE64));
  return new WebAssembly.Instance(compiled, { env: { memory } }).exports as unknown as CoreExports;
}

/** A fresh shared memory laid out for `shape`: fixed size (nothing in it grows), zero-filled. */
export function createCoreMemory(shape: EngineShape): WebAssembly.Memory {
  const pages = pagesFor(shape);
  if (!(pages <= MAX_PAGES)) throw initError("memory", 3);
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  const status = instantiate(memory).init(shape.capacity, shape.bucketCapacity, shape.lanes, shape.affinityCapacity, shape.publishBytes);
  if (status !== 0) throw initError(`init(${shape.capacity}, ${shape.bucketCapacity}, ${shape.lanes}, ${shape.affinityCapacity}, ${shape.publishBytes})`, status);
  return memory;
}

/** An instance of the core over a laid-out shared memory, using `lane`; its layout checked against the mirror. */
export function attachCore(memory: WebAssembly.Memory, lane: number): { readonly core: CoreExports; readonly shape: EngineShape } {
  const shape = shapeOf(memory);
  const core = instantiate(memory);
  const status = core.attach(lane);
  if (status !== 0) throw initError(`attach(${lane})`, status);
  checkLayout(core as unknown as WebAssembly.Exports, shape);
  return { core, shape };
}

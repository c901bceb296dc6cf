// The production SelectionEngine: the WASM core over one shared linear memory. Every instance attached to
// the same memory (one per worker thread) sees and changes the same backend table, live counts, circuits,
// token buckets and affinity bindings, by atomics in the core. Scans, every derived-field update, circuit
// transitions, token takes and bindings run in WASM; plain reads (active, candidate flag, incarnation),
// the tried mark and the client key go through typed views.

import type { SelectionEngine, SlotSpec } from "../core/selection.ts";
import type { ClientBuckets, RateLimitSettings } from "../core/token-bucket.ts";
import type { AffinityBindings } from "../core/affinity.ts";
import { assertSlot, assertSlotSpec } from "../core/reference-engine.ts";
import { assertCount } from "../core/circuit.ts";
import { encodeIpKey } from "../core/ip-key.ts";
import { attachCore, createCoreMemory, type CoreExports } from "./core-module.ts";
import { Flag, LANE_BYTES, LANE_KEY, MAP_BASE, MAX_CAPACITY, MAX_LANES, headerOffset, layoutFor, paddedCapacity, type EngineShape } from "./layout.ts";

/** How to lay out a new shared engine memory (see EngineShape); only capacity is required. */
export interface EngineOptions {
  readonly capacity: number;
  readonly bucketCapacity?: number;
  readonly lanes?: number;
  readonly affinityCapacity?: number;
  readonly publishBytes?: number;
}

const PUBLISH_WORD = headerOffset("publishWord") / 4;
const PUBLISH_LENGTH = [headerOffset("publishLength0") / 4, headerOffset("publishLength1") / 4] as const;

export class WasmEngine implements SelectionEngine, ClientBuckets {
  readonly capacity: number;
  /** Token buckets in the table (0: no rate limiting possible). */
  readonly bucketCapacity: number;
  /** The shared memory: post it to a worker thread and attachEngine() it there. */
  readonly memory: WebAssembly.Memory;
  readonly shape: EngineShape;
  /** This instance's lane: its own scan scratch, client key and tried marks. */
  readonly lane: number;
  readonly #core: CoreExports;
  readonly #select: CoreExports["select"];
  readonly #map: ReturnType<typeof layoutFor>;
  #buffer: ArrayBufferLike | undefined;
  #flags!: Uint8Array;
  #active!: Uint32Array;
  #incarnation!: Uint32Array;
  #tried!: Uint32Array;
  #key!: Uint8Array;
  #header!: Int32Array;
  #bytes!: Uint8Array;
  /** This lane's row of the held counts (see holds), or null when not kept. */
  readonly #held: Int32Array | null;
  /** Held counts per lane and slot (lanes × capacity i32, shared like the memory): what each lane's
   *  instance has acquire()d and not release()d yet, so the control plane can give back what a worker
   *  that died held (reclaimLane). Null for a single-lane engine. */
  readonly holds: SharedArrayBuffer | null;

  constructor(memory: WebAssembly.Memory, lane: number, holds: SharedArrayBuffer | null = null) {
    const { core, shape } = attachCore(memory, lane);
    this.#core = core;
    this.memory = memory;
    this.shape = shape;
    this.lane = lane;
    this.capacity = shape.capacity;
    this.bucketCapacity = shape.bucketCapacity;
    this.#select = core.select;
    this.#map = layoutFor(shape);
    this.holds = holds;
    if (holds !== null && holds.byteLength < shape.lanes * shape.capacity * 4) throw new RangeError("[edgeproxy] held-count buffer too small for this engine's lanes and capacity");
    this.#held = holds === null ? null : new Int32Array(holds, lane * shape.capacity * 4, shape.capacity);
    this.#views();
  }

  /** Typed views over the shared memory, re-derived only when memory.buffer was replaced (grown). */
  #views(): void {
    const buffer = this.memory.buffer;
    if (buffer === this.#buffer) return;
    this.#buffer = buffer;
    const { addresses } = this.#map;
    const padded = paddedCapacity(this.capacity);
    this.#flags = new Uint8Array(buffer, addresses.FLAGS, this.capacity);
    this.#active = new Uint32Array(buffer, addresses.ACTIVE, this.capacity);
    this.#incarnation = new Uint32Array(buffer, addresses.INCARNATION, this.capacity);
    this.#tried = new Uint32Array(buffer, addresses.TRIED + this.lane * padded * 4, this.capacity);
    this.#key = new Uint8Array(buffer, this.#map.lanes + this.lane * LANE_BYTES + LANE_KEY, 16);
    this.#header = new Int32Array(buffer, MAP_BASE, 32);
    this.#bytes = new Uint8Array(buffer);
  }

  setSlot(slot: number, spec: SlotSpec): void {
    assertSlot(slot, this.capacity);
    assertSlotSpec(slot, spec);
    this.#core.setSlot(slot, spec.country, spec.region, spec.healthy ? 1 : 0, spec.local ? 1 : 0, spec.weight, spec.softLimit, spec.hardLimit);
  }

  clearSlot(slot: number): void {
    assertSlot(slot, this.capacity);
    this.#core.clearSlot(slot);
  }

  setHealthy(slot: number, healthy: boolean): void {
    assertSlot(slot, this.capacity);
    this.#core.setHealthy(slot, healthy ? 1 : 0);
  }

  setProbeDown(slot: number, down: boolean): void {
    assertSlot(slot, this.capacity);
    this.#core.setProbeDown(slot, down ? 1 : 0);
  }

  select(clientCountry: number, clientRegion: number, attempt: number, seed: number): number {
    // Int32 arguments: JSC's JS→WASM entry takes a ~100 ns slower path for doubles (seeds >= 2^31).
    return this.#select(clientCountry | 0, clientRegion | 0, attempt | 0, seed | 0);
  }

  isCandidate(slot: number): boolean {
    assertSlot(slot, this.capacity);
    this.#views();
    return (Atomics.load(this.#flags, slot) & Flag.CANDIDATE) !== 0;
  }

  isRoutable(slot: number): boolean {
    assertSlot(slot, this.capacity);
    this.#views();
    // The `usable` test of derive() in assembly/slots.ts.
    return (this.#flags[slot]! & (Flag.PRESENT | Flag.HEALTHY | Flag.CIRCUIT_OPEN | Flag.PROBE_DOWN)) === (Flag.PRESENT | Flag.HEALTHY);
  }

  acquire(slot: number): boolean {
    assertSlot(slot, this.capacity);
    if (this.#core.acquire(slot) === 0) return false;
    if (this.#held !== null) this.#held[slot]!++; // only this lane writes its row
    return true;
  }

  release(slot: number): void {
    assertSlot(slot, this.capacity);
    this.#core.release(slot);
    const held = this.#held;
    if (held !== null && held[slot]! > 0) held[slot]!--;
  }

  /** Releases every reservation `lane` still holds (its instance is gone: a worker thread that died) and
   *  zeroes its row; returns how many. Never call it for a lane whose instance is still running. */
  reclaimLane(lane: number): number {
    if (this.holds === null) return 0;
    if (!(Number.isInteger(lane) && lane >= 0 && lane < this.shape.lanes) || lane === this.lane) throw new RangeError(`[edgeproxy] cannot reclaim lane ${String(lane)}`);
    const row = new Int32Array(this.holds, lane * this.capacity * 4, this.capacity);
    let reclaimed = 0;
    for (let slot = 0; slot < this.capacity; slot++) {
      const n = Atomics.exchange(row, slot, 0);
      for (let i = 0; i < n; i++) this.#core.release(slot);
      reclaimed += n;
    }
    return reclaimed;
  }

  /** Live connections of the slot, counted by every instance on this memory. */
  active(slot: number): number {
    assertSlot(slot, this.capacity);
    this.#views();
    return Atomics.load(this.#active, slot);
  }

  incarnation(slot: number): number {
    assertSlot(slot, this.capacity);
    this.#views();
    return Atomics.load(this.#incarnation, slot);
  }

  markTried(slot: number, attempt: number): void {
    assertSlot(slot, this.capacity);
    this.#views();
    this.#tried[slot] = attempt;
  }

  circuitState(slot: number): number {
    assertSlot(slot, this.capacity);
    return this.#core.circuitState(slot);
  }

  circuitAdmit(slot: number, probeLimit: number): boolean {
    assertSlot(slot, this.capacity);
    assertCount("probeLimit", probeLimit);
    return this.#core.circuitAdmit(slot, probeLimit) !== 0;
  }

  circuitSuccess(slot: number, successThreshold: number, probe: boolean): number {
    assertSlot(slot, this.capacity);
    assertCount("successThreshold", successThreshold);
    return this.#core.circuitSuccess(slot, successThreshold, probe ? 1 : 0);
  }

  circuitFailure(slot: number, nowMs: number, failureThreshold: number): number {
    assertSlot(slot, this.capacity);
    assertCount("failureThreshold", failureThreshold);
    return this.#core.circuitFailure(slot, nowMs, failureThreshold);
  }

  advanceCircuit(from: number, nowMs: number, timeoutMs: number): number {
    return this.#core.advanceCircuit(from >>> 0, nowMs, timeoutMs);
  }

  resetCircuits(): void {
    this.#core.resetCircuits();
  }

  takeToken(ip: string, nowMs: number, settings: RateLimitSettings): boolean {
    this.#views();
    encodeIpKey(ip, this.#key);
    return this.#core.takeToken(nowMs, settings.burst, settings.maxRequests, settings.windowMs) !== 0;
  }

  /** The shared affinity table with this TTL (the same bindings from every instance on this memory). */
  bindings(ttlMs: number): AffinityBindings {
    if (!(ttlMs > 0)) throw new RangeError(`[edgeproxy] affinity TTL must be a positive number of ms, got ${String(ttlMs)}`);
    const engine = this, core = this.#core, capacity = this.shape.affinityCapacity;
    const key = (client: string): void => {
      engine.#views();
      encodeIpKey(client, engine.#key);
    };
    return {
      lookup(client, nowMs) {
        key(client);
        return core.affinityLookup(nowMs, ttlMs);
      },
      bind(client, slot, nowMs) {
        assertSlot(slot, engine.capacity);
        key(client);
        return core.affinityBind(slot, nowMs, ttlMs);
      },
      unbind(client, slot) {
        key(client);
        return core.affinityUnbind(slot >>> 0) !== 0;
      },
      gc(nowMs) {
        return core.affinityGc(nowMs, 0, capacity);
      },
      get size() {
        return engine.#field("affinityCount");
      },
    };
  }

  #field(name: Parameters<typeof headerOffset>[0]): number {
    this.#views();
    return Atomics.load(this.#header, headerOffset(name) / 4) >>> 0;
  }

  /** Size of the shared memory (fixed at creation: nothing in it grows). */
  get memoryBytes(): number {
    return this.memory.buffer.byteLength;
  }

  /** Buckets taken over before they had refilled (the table was full around their key). */
  get bucketEvictions(): number {
    return this.#field("evictions");
  }

  /** Live bindings dropped to make room (the affinity table was full around their key). */
  get affinityEvictions(): number {
    return this.#field("affinityEvictions");
  }

  /** Mix a random value into the bucket and affinity hashes, so clients cannot aim many addresses at one
   *  probe window. Once, before the first take or binding (the control plane, before workers start). */
  seedBuckets(seed: number): void {
    this.#core.seedBuckets(seed | 0);
  }

  /** Publish `bytes` (a route publication) to every instance on this memory; returns its epoch (>= 1).
   *  One publisher per memory (the control plane): it writes the buffer readers are not using. */
  publish(bytes: Uint8Array): number {
    const room = this.shape.publishBytes;
    if (bytes.length > room) throw new RangeError(`[edgeproxy] route publication of ${bytes.length} bytes does not fit the ${room}-byte buffer`);
    this.#views();
    const word = Atomics.load(this.#header, PUBLISH_WORD);
    const epoch = (word >>> 1) + 1, buffer = (word & 1) ^ 1;
    this.#bytes.set(bytes, this.#map.publish + buffer * room);
    Atomics.store(this.#header, PUBLISH_LENGTH[buffer], bytes.length);
    Atomics.store(this.#header, PUBLISH_WORD, (epoch << 1) | buffer);
    return epoch;
  }

  /** Epoch of the latest publication (0: none yet): one atomic load, cheap enough for every decision. */
  currentEpoch(): number {
    this.#views();
    return Atomics.load(this.#header, PUBLISH_WORD) >>> 1;
  }

  /** A private copy of the latest publication, or null before the first. Never torn: a copy that a newer
   *  publication overwrote while it was taken is taken again. */
  readPublication(): { readonly epoch: number; readonly bytes: Uint8Array } | null {
    this.#views();
    for (;;) {
      const word = Atomics.load(this.#header, PUBLISH_WORD);
      if (word === 0) return null;
      const buffer = word & 1;
      const start = this.#map.publish + buffer * this.shape.publishBytes;
      const bytes = this.#bytes.slice(start, start + Atomics.load(this.#header, PUBLISH_LENGTH[buffer]));
      if (Atomics.load(this.#header, PUBLISH_WORD) === word) return { epoch: word >>> 1, bytes };
    }
  }
}

function checkShape(options: EngineOptions): EngineShape {
  const { capacity, bucketCapacity = 0, lanes = 1, affinityCapacity = 0, publishBytes = 0 } = options;
  if (!(Number.isInteger(capacity) && capacity >= 1 && capacity <= MAX_CAPACITY)) {
    throw new RangeError(`[edgeproxy] WASM engine capacity must be an integer in 1..${MAX_CAPACITY}, got ${String(capacity)}`);
  }
  if (!(Number.isInteger(lanes) && lanes >= 1 && lanes <= MAX_LANES)) {
    throw new RangeError(`[edgeproxy] WASM engine lanes must be an integer in 1..${MAX_LANES}, got ${String(lanes)}`);
  }
  for (const [name, value] of [["bucket capacity", bucketCapacity], ["affinity capacity", affinityCapacity], ["publication size", publishBytes]] as const) {
    if (!(Number.isInteger(value) && value >= 0)) throw new RangeError(`[edgeproxy] WASM engine ${name} must be a non-negative integer, got ${String(value)}`);
  }
  return { capacity, bucketCapacity, lanes, affinityCapacity, publishBytes: Math.ceil(publishBytes / 16) * 16 };
}

/** A new shared engine memory laid out for `options`, and the engine on its lane 0 (the control plane's). */
export function createSharedEngine(options: EngineOptions): WasmEngine {
  const shape = checkShape(options);
  // Several lanes: several instances (worker threads) whose reservations must be given back if one dies.
  const holds = shape.lanes > 1 ? new SharedArrayBuffer(shape.lanes * shape.capacity * 4) : null;
  return new WasmEngine(createCoreMemory(shape), 0, holds);
}

/** An engine on a memory made by createSharedEngine (in this thread or posted from another), on `lane`
 *  (1..lanes-1 for workers; two live instances must never share a lane). */
export function attachEngine(memory: WebAssembly.Memory, lane: number, holds: SharedArrayBuffer | null = null): WasmEngine {
  if (!(Number.isInteger(lane) && lane >= 0)) throw new RangeError(`[edgeproxy] engine lane must be a non-negative integer, got ${String(lane)}`);
  return new WasmEngine(memory, lane, holds);
}

/** A single-instance WASM selection engine with `capacity` slots (1..1,048,576), all absent,
 *  `bucketCapacity` token buckets (0, or a power of two in 16..2^24: see bucketCapacityFor) and
 *  `affinityCapacity` binding entries (0, or a power of two: see affinityCapacityFor). */
export function createWasmEngine(capacity: number, bucketCapacity = 0, affinityCapacity = 0): WasmEngine {
  return createSharedEngine({ capacity, bucketCapacity, affinityCapacity });
}

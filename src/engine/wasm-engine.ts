// The production SelectionEngine: the WASM core over shared linear memory. Scans, every derived-field
// update, circuit transitions and token takes run in WASM; plain reads (active, candidate flag, circuit
// state), the tried mark and the client key go through typed views.

import type { SelectionEngine, SlotSpec } from "../core/selection.ts";
import type { ClientBuckets, RateLimitSettings } from "../core/token-bucket.ts";
import { assertSlot, assertSlotSpec } from "../core/reference-engine.ts";
import { assertCount } from "../core/circuit.ts";
import { encodeIpKey } from "../core/ip-key.ts";
import { instantiateCore, type CoreExports } from "./core-module.ts";
import { CIRCUIT_BYTES, Flag, HEADER_EVICTIONS, MAP_BASE, MAX_CAPACITY, bucketAddresses, regionAddresses } from "./layout.ts";

export class WasmEngine implements SelectionEngine, ClientBuckets {
  readonly capacity: number;
  /** Token buckets in the table (0: no rate limiting possible). */
  readonly bucketCapacity: number;
  readonly #core: CoreExports;
  readonly #select: CoreExports["select"];
  readonly #addresses: ReturnType<typeof regionAddresses>["addresses"];
  #buffer: ArrayBufferLike | undefined;
  #flags!: Uint8Array;
  #active!: Uint32Array;
  #tried!: Uint32Array;
  #circuit!: Uint8Array;
  #key!: Uint8Array;
  #header!: Uint32Array;
  readonly #keyAddress: number;

  constructor(capacity: number, bucketCapacity = 0) {
    if (!(Number.isInteger(capacity) && capacity >= 1 && capacity <= MAX_CAPACITY)) {
      throw new RangeError(`[edgeproxy] WASM engine capacity must be an integer in 1..${MAX_CAPACITY}, got ${String(capacity)}`);
    }
    this.#core = instantiateCore(capacity, bucketCapacity);
    this.capacity = capacity;
    this.bucketCapacity = bucketCapacity;
    this.#select = this.#core.select;
    const regions = regionAddresses(capacity);
    this.#addresses = regions.addresses;
    this.#keyAddress = bucketAddresses(regions.end, bucketCapacity).key;
    this.#views();
  }

  /** Typed views over linear memory, re-derived only when memory.buffer was replaced (grown). */
  #views(): void {
    const buffer = this.#core.memory.buffer;
    if (buffer === this.#buffer) return;
    this.#buffer = buffer;
    this.#flags = new Uint8Array(buffer, this.#addresses.FLAGS, this.capacity);
    this.#active = new Uint32Array(buffer, this.#addresses.ACTIVE, this.capacity);
    this.#tried = new Uint32Array(buffer, this.#addresses.TRIED, this.capacity);
    this.#circuit = new Uint8Array(buffer, this.#addresses.CIRCUIT, this.capacity * CIRCUIT_BYTES);
    this.#key = new Uint8Array(buffer, this.#keyAddress, 16);
    this.#header = new Uint32Array(buffer, MAP_BASE, 16);
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
    return (this.#flags[slot]! & Flag.CANDIDATE) !== 0;
  }

  isRoutable(slot: number): boolean {
    assertSlot(slot, this.capacity);
    this.#views();
    // The `usable` test of derive() in assembly/slots.ts.
    return (this.#flags[slot]! & (Flag.PRESENT | Flag.HEALTHY | Flag.CIRCUIT_OPEN | Flag.PROBE_DOWN)) === (Flag.PRESENT | Flag.HEALTHY);
  }

  acquire(slot: number): boolean {
    assertSlot(slot, this.capacity);
    return this.#core.acquire(slot) !== 0;
  }

  release(slot: number): void {
    assertSlot(slot, this.capacity);
    this.#core.release(slot);
  }

  active(slot: number): number {
    assertSlot(slot, this.capacity);
    this.#views();
    return this.#active[slot]!;
  }

  markTried(slot: number, attempt: number): void {
    assertSlot(slot, this.capacity);
    this.#views();
    this.#tried[slot] = attempt;
  }

  circuitState(slot: number): number {
    assertSlot(slot, this.capacity);
    this.#views();
    return this.#circuit[slot * CIRCUIT_BYTES]!;
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

  /** Size of the core's linear memory (fixed after construction: nothing in it grows). */
  get memoryBytes(): number {
    return this.#core.memory.buffer.byteLength;
  }

  /** Buckets taken over before they had refilled (the table was full around their key). */
  get bucketEvictions(): number {
    this.#views();
    return this.#header[HEADER_EVICTIONS / 4]!;
  }

  /** Mix a random value into the bucket hash, so clients cannot aim many addresses at one probe window. */
  seedBuckets(seed: number): void {
    this.#core.seedBuckets(seed | 0);
  }
}

/** A WASM selection engine with `capacity` slots (1..1,048,576), all absent, and `bucketCapacity` token
 *  buckets (0, or a power of two in 16..2^24: see bucketCapacityFor). */
export function createWasmEngine(capacity: number, bucketCapacity = 0): WasmEngine {
  return new WasmEngine(capacity, bucketCapacity);
}

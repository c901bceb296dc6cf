// The production SelectionEngine: the WASM core over shared linear memory. Scans and every derived-field
// update run in WASM; plain reads (active, candidate flag) and the tried mark go through typed views.

import type { SelectionEngine, SlotSpec } from "../core/selection.ts";
import { assertSlot, assertSlotSpec } from "../core/reference-engine.ts";
import { instantiateCore, type CoreExports } from "./core-module.ts";
import { Flag, MAX_CAPACITY, regionAddresses } from "./layout.ts";

export class WasmEngine implements SelectionEngine {
  readonly capacity: number;
  readonly #core: CoreExports;
  readonly #select: CoreExports["select"];
  readonly #addresses: ReturnType<typeof regionAddresses>["addresses"];
  #buffer: ArrayBufferLike | undefined;
  #flags!: Uint8Array;
  #active!: Uint32Array;
  #tried!: Uint32Array;

  constructor(capacity: number) {
    if (!(Number.isInteger(capacity) && capacity >= 1 && capacity <= MAX_CAPACITY)) {
      throw new RangeError(`[edgeproxy] WASM engine capacity must be an integer in 1..${MAX_CAPACITY}, got ${String(capacity)}`);
    }
    this.#core = instantiateCore(capacity);
    this.capacity = capacity;
    this.#select = this.#core.select;
    this.#addresses = regionAddresses(capacity).addresses;
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
}

/** A WASM selection engine with `capacity` slots (1..1,048,576), all absent. */
export function createWasmEngine(capacity: number): WasmEngine {
  return new WasmEngine(capacity);
}

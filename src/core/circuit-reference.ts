// The circuit policy of circuit.ts in plain TypeScript, one object per slot: the oracle the WASM
// circuits (assembly/circuit.ts) are tested against. The ReferenceEngine owns one.
import { CircuitState, NO_TRANSITION } from "./circuit.ts";

interface Circuit {
  state: CircuitState;
  failures: number;
  successes: number;
  probes: number;
  openedAtMs: number;
}

const closed = (): Circuit => ({ state: CircuitState.CLOSED, failures: 0, successes: 0, probes: 0, openedAtMs: 0 });

export class CircuitReference {
  readonly #circuits: Circuit[];
  /** 1 = blocked; an array of its own so the reference scan stays a fair benchmark baseline. */
  readonly #blocked: Uint8Array;

  constructor(capacity: number) {
    this.#circuits = Array.from({ length: capacity }, closed);
    this.#blocked = new Uint8Array(capacity);
  }

  state(slot: number): CircuitState {
    return this.#circuits[slot]!.state;
  }

  /** Open, or half-open with every probe in flight: not a candidate. */
  blocked(slot: number): boolean {
    return this.#blocked[slot] === 1;
  }

  reset(slot: number): void {
    this.#circuits[slot] = closed();
    this.#blocked[slot] = 0;
  }

  admit(slot: number, probeLimit: number): boolean {
    const c = this.#circuits[slot]!;
    if (c.state === CircuitState.CLOSED) return true;
    if (c.state === CircuitState.OPEN) return false;
    if (c.probes >= probeLimit) {
      this.#blocked[slot] = 1;
      return false;
    }
    c.probes++;
    this.#blocked[slot] = c.probes >= probeLimit ? 1 : 0;
    return true;
  }

  success(slot: number, successThreshold: number, probe: boolean): number {
    const c = this.#circuits[slot]!;
    if (c.state === CircuitState.CLOSED) {
      c.failures = 0;
      return NO_TRANSITION;
    }
    if (c.state === CircuitState.OPEN || !probe) return NO_TRANSITION;
    c.probes = Math.max(0, c.probes - 1);
    c.successes++;
    this.#blocked[slot] = 0;
    if (c.successes >= successThreshold) {
      this.reset(slot);
      return CircuitState.CLOSED;
    }
    return NO_TRANSITION;
  }

  /** `present`: whether the slot holds a backend (an absent slot's circuit stays closed). */
  failure(slot: number, nowMs: number, failureThreshold: number, present: boolean): number {
    const c = this.#circuits[slot]!;
    if (c.state === CircuitState.OPEN || !present) return NO_TRANSITION;
    if (c.state === CircuitState.CLOSED && ++c.failures < failureThreshold) return NO_TRANSITION;
    this.#circuits[slot] = { ...closed(), state: CircuitState.OPEN, openedAtMs: nowMs };
    this.#blocked[slot] = 1;
    return CircuitState.OPEN;
  }

  advance(from: number, top: number, nowMs: number, timeoutMs: number): number {
    for (let slot = from; slot < top; slot++) {
      const c = this.#circuits[slot]!;
      if (c.state === CircuitState.OPEN && nowMs >= c.openedAtMs + timeoutMs) {
        this.#circuits[slot] = { ...closed(), state: CircuitState.HALF_OPEN };
        this.#blocked[slot] = 0;
        return slot;
      }
    }
    return -1;
  }

  resetAll(): void {
    for (let slot = 0; slot < this.#circuits.length; slot++) this.reset(slot);
  }
}

// Drives the per-backend circuits in the WASM core from the data path: admits attempts (half-open:
// a limited number of probes), records connect outcomes, moves due open circuits to half-open before
// each decision, and logs every transition once with the backend's id. Settings are read on every call
// (a config reload applies at once); switching the breaker off closes every circuit.
import type { Backend } from "../core/types.ts";
import { CIRCUIT_STATE_NAMES, CircuitState, NO_TRANSITION, type CircuitSettings, type CircuitTable } from "../core/circuit.ts";
import type { Logger } from "../core/logger.ts";

/** admit(): go ahead (closed), go ahead as a half-open probe, or do not use this backend now. */
export const Admission = { PASS: 0, PROBE: 1, REFUSED: 2 } as const;
export type Admission = (typeof Admission)[keyof typeof Admission];

/** What the router needs from the circuit breakers. */
export interface CircuitGate {
  advance(nowMs: number): void;
  admit(slot: number): Admission;
  succeeded(slot: number, probe: boolean): void;
  failed(slot: number, nowMs: number): void;
}

/** The gate of a proxy without circuit breakers. */
export const noCircuits: CircuitGate = {
  advance() {},
  admit: () => Admission.PASS,
  succeeded() {},
  failed() {},
};

export class CircuitGuard implements CircuitGate {
  /** State changes so far, all backends. */
  transitions = 0;
  /** State changes per backend id, indexed by the state moved to (CircuitState), for metrics. */
  readonly #byBackend = new Map<string, number[]>();
  #on = false;

  readonly engine: CircuitTable;
  readonly backendAt: (slot: number) => Backend | null;
  readonly settings: () => CircuitSettings;
  readonly log: Logger;
  constructor(
    engine: CircuitTable,
    backendAt: (slot: number) => Backend | null,
    settings: () => CircuitSettings,
    log: Logger,
  ) {
    this.engine = engine;
    this.backendAt = backendAt;
    this.settings = settings;
    this.log = log;
  }

  /** CircuitState of a slot: 0 closed, 1 open, 2 half-open (for metrics). */
  state(slot: number): number {
    return this.engine.circuitState(slot);
  }

  /** Transitions of one backend so far, indexed by the state moved to (0 closed, 1 open, 2 half-open). */
  transitionsOf(id: string): readonly number[] | undefined {
    return this.#byBackend.get(id);
  }

  /** Every backend's transitions so far (a worker thread reports them to the control plane). */
  allTransitions(): [id: string, counts: readonly number[]][] {
    return [...this.#byBackend].map(([id, counts]) => [id, [...counts]]);
  }

  advance(nowMs: number): void {
    const s = this.settings();
    if (!this.#enabled(s)) return;
    const engine = this.engine;
    for (let slot = engine.advanceCircuit(0, nowMs, s.timeoutMs); slot >= 0; slot = engine.advanceCircuit(slot + 1, nowMs, s.timeoutMs)) {
      this.#report(slot, CircuitState.HALF_OPEN, s);
    }
  }

  admit(slot: number): Admission {
    const s = this.settings();
    if (!this.#enabled(s)) return Admission.PASS;
    const halfOpen = this.engine.circuitState(slot) === CircuitState.HALF_OPEN;
    if (!this.engine.circuitAdmit(slot, s.halfOpenProbes)) return Admission.REFUSED;
    return halfOpen ? Admission.PROBE : Admission.PASS;
  }

  succeeded(slot: number, probe: boolean): void {
    const s = this.settings();
    if (!this.#enabled(s)) return;
    const to = this.engine.circuitSuccess(slot, s.successThreshold, probe);
    if (to !== NO_TRANSITION) this.#report(slot, to, s);
  }

  failed(slot: number, nowMs: number): void {
    const s = this.settings();
    if (!this.#enabled(s)) return;
    const to = this.engine.circuitFailure(slot, nowMs, s.failureThreshold);
    if (to !== NO_TRANSITION) this.#report(slot, to, s);
  }

  #enabled(s: CircuitSettings): boolean {
    if (s.enabled !== this.#on) {
      this.#on = s.enabled;
      if (!s.enabled) {
        this.engine.resetCircuits();
        this.log.info("circuit breaker disabled: every circuit closed");
      }
    }
    return s.enabled;
  }

  #report(slot: number, to: number, s: CircuitSettings): void {
    this.transitions++;
    const backend = this.backendAt(slot)?.id ?? null;
    if (backend !== null) {
      const counts = this.#byBackend.get(backend) ?? [0, 0, 0];
      counts[to] = (counts[to] ?? 0) + 1;
      this.#byBackend.set(backend, counts);
    }
    const state = CIRCUIT_STATE_NAMES[to] ?? String(to);
    if (to === CircuitState.OPEN) {
      this.log.warn("circuit opened", { backend, slot, state, failureThreshold: s.failureThreshold, timeoutSecs: s.timeoutMs / 1000 });
    } else if (to === CircuitState.HALF_OPEN) {
      this.log.info("circuit half-open", { backend, slot, state, probes: s.halfOpenProbes });
    } else {
      this.log.info("circuit closed", { backend, slot, state, successThreshold: s.successThreshold });
    }
  }
}

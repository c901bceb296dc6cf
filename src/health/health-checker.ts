// Active health checks: every interval (a tick of the one Scheduler) all routable backends are probed at once, each
// probe bounded by the timeout. A backend whose probe is still running (slow, up to the timeout) is
// skipped for that round; the others are not held up. Results feed a HealthState per backend id
// (core/health-state.ts); its verdict goes into the engine as the slot's PROBE_DOWN flag, so the
// selection scan and the affinity check exclude a down backend. The state is keyed by id, so it
// survives snapshot swaps; it is dropped when the backend leaves the table or is disabled in the store.
import type { Backend } from "../core/types.ts";
import type { Clock } from "../runtime/types.ts";
import { HealthState, type HealthThresholds } from "../core/health-state.ts";
import type { Logger } from "../lifecycle/log.ts";
import type { HealthProbe, ProbeSpec } from "./health-probe.ts";
import { forEachRouted, type RoutedSlots } from "../routes/route-counts.ts";
import { hostPort } from "../core/host-port.ts";
import type { Component } from "../core/component.ts";

export interface HealthSettings extends ProbeSpec {
  /** Off: no probes, every verdict dropped (a settings reload switches it either way at the next tick). */
  readonly enabled?: boolean;
  readonly intervalMs: number;
  readonly healthyThreshold: number;
  readonly unhealthyThreshold: number;
}

export interface HealthCheckerDeps {
  readonly table: RoutedSlots & { slotOf(id: string): number | undefined };
  readonly engine: { readonly capacity: number; setProbeDown(slot: number, down: boolean): void };
  /** Read at the start of every round: a config reload changes interval, timeout, type and thresholds. */
  readonly settings: () => HealthSettings;
  readonly probe: (spec: ProbeSpec) => HealthProbe;
  /** Time of the verdicts and the timer of each probe's timeout (the scheduler's clock). */
  readonly clock: Clock;
  readonly log: Logger;
  /** Called on every flip (after the engine flag changed), e.g. to drain a down backend's pool. */
  readonly onFlip?: (backend: Backend, up: boolean) => void;
}

export class HealthChecker implements Component {
  readonly name = "health-check";
  readonly #deps: HealthCheckerDeps;
  readonly #states = new Map<string, HealthState>();
  /** Aborts of the probes under way, by backend id. */
  readonly #running = new Map<string, AbortController>();
  #stopped = false;
  #rounds = 0;

  constructor(deps: HealthCheckerDeps) {
    this.#deps = deps;
  }

  /** Rounds started so far. */
  get rounds(): number {
    return this.#rounds;
  }

  /** "up", "down", or null when the backend is not probed (disabled, unknown). For db show. */
  probeState(id: string): "up" | "down" | null {
    const state = this.#states.get(id);
    return state === undefined ? null : state.up ? "up" : "down";
  }

  /** The probe verdict for metrics: true up, false down, null not probed. */
  probeHealthy(id: string): boolean | null {
    return this.#states.get(id)?.up ?? null;
  }

  isDown(id: string): boolean {
    return this.#states.get(id)?.up === false;
  }

  /** First round now when enabled; then one per tick (the interval is re-read after each). */
  start(): void {
    this.tick();
  }

  periodMs(): number {
    return this.#deps.settings().intervalMs;
  }

  /** One round, or, when the settings switched checks off, drops every verdict (all backends routable again). */
  tick(): void {
    if (this.#stopped) return;
    const settings = this.#deps.settings();
    if (settings.enabled === false) return this.#disable();
    try {
      this.round(settings);
    } catch (err) {
      this.#deps.log.error("health check round failed", { error: (err as Error).message });
    }
  }

  stop(): void {
    this.#stopped = true;
    this.#abortAll();
  }

  #abortAll(): void {
    for (const abort of this.#running.values()) abort.abort();
    this.#running.clear();
  }

  #disable(): void {
    if (this.#states.size === 0 && this.#running.size === 0) return;
    this.#abortAll();
    const { table, engine } = this.#deps;
    for (const [id, state] of this.#states) {
      const slot = table.slotOf(id);
      if (!state.up && slot !== undefined) engine.setProbeDown(slot, false);
    }
    this.#states.clear();
    this.#deps.log.info("health checks disabled: every probe verdict dropped");
  }

  /** Starts one probe per routable backend not already being probed; forgets backends no longer probed. */
  round(settings: HealthSettings = this.#deps.settings()): void {
    const { table, engine } = this.#deps;
    this.#rounds++;
    const probed = new Set<string>();
    forEachRouted(table, engine.capacity, (backend) => {
      if (!backend.healthy) return; // disabled in the store: not routed, not probed
      probed.add(backend.id);
      if (!this.#running.has(backend.id)) void this.#probeOne(backend, settings);
    });
    for (const [id, state] of this.#states) {
      if (probed.has(id)) continue;
      this.#states.delete(id);
      // Disabled: its verdict goes with it, so an operator's enable starts from a clean slate.
      const slot = table.slotOf(id);
      if (!state.up && slot !== undefined) engine.setProbeDown(slot, false);
    }
  }

  async #probeOne(backend: Backend, settings: HealthSettings): Promise<void> {
    const abort = new AbortController();
    this.#running.set(backend.id, abort);
    const spec: ProbeSpec = { type: settings.type, path: settings.path, timeoutMs: settings.timeoutMs };
    let cancelTimer: (() => void) | undefined;
    let error: string | null = null;
    try {
      // Settles at the timeout, or at once on stop(): a probe that ignores its signal cannot hold us.
      const deadline = new Promise<never>((_, reject) => {
        abort.signal.addEventListener("abort", () => reject(new Error("stopped")), { once: true });
        cancelTimer = this.#deps.clock.after(settings.timeoutMs, () => {
          reject(new Error(`timeout after ${settings.timeoutMs} ms`));
          abort.abort();
        });
      });
      await Promise.race([this.#deps.probe(spec)({ host: backend.host, port: backend.port }, spec, abort.signal), deadline]);
    } catch (err) {
      error = (err as Error).message || String(err);
    } finally {
      cancelTimer?.();
      if (this.#running.get(backend.id) === abort) this.#running.delete(backend.id);
    }
    if (this.#stopped || abort.signal.aborted && error === "stopped") return;
    this.#record(backend.id, error, settings);
  }

  #record(id: string, error: string | null, thresholds: HealthSettings): void {
    const { table, engine, clock, log } = this.#deps;
    const slot = table.slotOf(id);
    const backend = slot === undefined ? null : table.backendAt(slot);
    if (slot === undefined || backend === null || !backend.healthy) return; // left or disabled meanwhile
    let state = this.#states.get(id);
    if (state === undefined) this.#states.set(id, (state = new HealthState(clock.now())));
    const limits: HealthThresholds = { healthy: thresholds.healthyThreshold, unhealthy: thresholds.unhealthyThreshold };
    const flipped = state.observe(error === null, limits, clock.now());
    // Every result, not only flips: a backend removed and re-added between rounds sits in a fresh slot.
    engine.setProbeDown(slot, !state.up);
    if (!flipped) {
      if (error !== null) log.debug("health check failed", { backend: id, error, streak: state.streak });
      return;
    }
    const addr = hostPort(backend.host, backend.port);
    if (state.up) log.info("backend healthy again (health check)", { backend: id, addr, successes: limits.healthy });
    else log.warn("backend unhealthy (health check)", { backend: id, addr, failures: limits.unhealthy, error });
    this.#deps.onFlip?.(backend, state.up);
  }
}

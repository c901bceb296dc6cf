// One backend's active-health-check state: consecutive probe results against the thresholds. Pure:
// the caller passes the time and the thresholds of this round (they can change between rounds).
//
//   up   ── `unhealthy` failures in a row ──► down
//   down ── `healthy` successes in a row ──► up
//
// A backend starts up (unprobed): a proxy that just started routes at once, and a dead backend is
// still skipped by connect failover until its probes take it out.

export interface HealthThresholds {
  /** Successes in a row that bring a down backend back. */
  readonly healthy: number;
  /** Failures in a row that take an up backend out. */
  readonly unhealthy: number;
}

export class HealthState {
  #up = true;
  #streak = 0;
  #probes = 0;
  #changedAtMs: number;
  #checkedAtMs: number | null = null;

  constructor(nowMs: number) {
    this.#changedAtMs = nowMs;
  }

  get up(): boolean {
    return this.#up;
  }

  /** Probes seen so far (0: not probed yet). */
  get probes(): number {
    return this.#probes;
  }

  /** Results in a row that disagree with the current state (progress towards a flip). */
  get streak(): number {
    return this.#streak;
  }

  get changedAtMs(): number {
    return this.#changedAtMs;
  }

  get checkedAtMs(): number | null {
    return this.#checkedAtMs;
  }

  /** Records one probe result; true when it flipped the state. */
  observe(ok: boolean, thresholds: HealthThresholds, nowMs: number): boolean {
    this.#probes++;
    this.#checkedAtMs = nowMs;
    if (ok === this.#up) {
      this.#streak = 0;
      return false;
    }
    this.#streak++;
    if (this.#streak < Math.max(1, ok ? thresholds.healthy : thresholds.unhealthy)) return false;
    this.#up = ok;
    this.#streak = 0;
    this.#changedAtMs = nowMs;
    return true;
  }
}

// At most one log line per reason per interval (like HAProxy's NOSRV lines, but bounded): a flood
// of refused clients must not flood the log. The line that gets through carries how many of the
// same reason were suppressed since the previous one. Pure: the caller passes the time.

export class LogRateLimit {
  readonly #intervalMs: number;
  readonly #reasons = new Map<string, { lastMs: number; suppressed: number }>();

  constructor(intervalMs = 1000) {
    this.#intervalMs = intervalMs;
  }

  /** null: suppressed (and counted); a number: log this one, with that many suppressed before it. */
  admit(reason: string, nowMs: number): number | null {
    const r = this.#reasons.get(reason);
    if (r === undefined) {
      this.#reasons.set(reason, { lastMs: nowMs, suppressed: 0 });
      return 0;
    }
    if (nowMs - r.lastMs < this.#intervalMs) {
      r.suppressed++;
      return null;
    }
    const suppressed = r.suppressed;
    r.lastMs = nowMs;
    r.suppressed = 0;
    return suppressed;
  }
}

// New connections per second from a monotonic total, sampled whenever the status is read (no timer:
// the page polls once a second, and nothing is sampled while nobody looks). The rate is the average
// over the last few seconds; the first read after a long pause averages over that pause.
export class ConnectionRate {
  readonly #samples: { t: number; n: number }[] = [];

  readonly windowMs: number;
  readonly minSpanMs: number;
  readonly sampleEveryMs: number;
  /** @param windowMs span averaged over; @param minSpanMs shorter spans give no rate yet (null). */
  constructor(windowMs: number = 5_000, minSpanMs: number = 900, sampleEveryMs: number = 250) {
    this.windowMs = windowMs;
    this.minSpanMs = minSpanMs;
    this.sampleEveryMs = sampleEveryMs;
  }

  perSecond(nowMs: number, total: number): number | null {
    const s = this.#samples;
    // Keep one sample at least windowMs old (the reference), none older than that.
    while (s.length > 1 && nowMs - s[1]!.t >= this.windowMs) s.shift();
    const last = s[s.length - 1];
    if (last === undefined || nowMs - last.t >= this.sampleEveryMs) s.push({ t: nowMs, n: total });
    const first = s[0]!;
    const span = nowMs - first.t;
    if (span < this.minSpanMs) return null;
    return Math.max(0, ((total - first.n) * 1000) / span);
  }
}

// Publishes the proxy's live per-backend counts (active connections, health check result, circuit state)
// into routing.db for `edgeproxy db show`. Ticks on the route-reload interval and writes only when a
// value changed, or to refresh the "still alive" stamp every second interval.
import type { Logger } from "../lifecycle/log.ts";
import type { LiveRow } from "../store/live-table.ts";
import type { Component } from "../core/component.ts";

export interface LiveCount {
  readonly id: string;
  readonly active: number;
  readonly circuit?: string | null;
  readonly probe?: string | null;
}

/** Where the counts go (store/live-table.ts). */
export interface LiveSink {
  publish(changed: readonly LiveRow[], removed: readonly string[], nowMs: number, intervalMs: number): void;
  clear(): void;
  close(): void;
}

export class LiveStatePublisher implements Component {
  readonly name = "live-state";
  #published = new Map<string, LiveRow>();
  #stampedAtMs = -Infinity;
  #failing = false;

  readonly sink: LiveSink;
  /** The proxy's current counts, one entry per backend in the route table. */
  readonly counts: () => readonly LiveCount[];
  readonly intervalMs: number;
  readonly log: Logger;
  readonly now: () => number;
  constructor(sink: LiveSink, counts: () => readonly LiveCount[], intervalMs: number, log: Logger, now: () => number) {
    this.sink = sink;
    this.counts = counts;
    this.intervalMs = intervalMs;
    this.log = log;
    this.now = now;
  }

  /** Compares with what was last written; writes the difference. True when something was written. */
  publish(nowMs: number): boolean {
    const current = new Map<string, LiveRow>();
    for (const c of this.counts()) current.set(c.id, { id: c.id, active: c.active, circuit: c.circuit ?? null, probe: c.probe ?? null });
    const changed: LiveRow[] = [];
    for (const [id, row] of current) {
      const before = this.#published.get(id);
      if (before === undefined || before.active !== row.active || before.circuit !== row.circuit || before.probe !== row.probe) changed.push(row);
    }
    const removed = [...this.#published.keys()].filter((id) => !current.has(id));
    const stampDue = nowMs - this.#stampedAtMs >= 2 * this.intervalMs;
    if (changed.length === 0 && removed.length === 0 && !stampDue) return false;
    try {
      this.sink.publish(changed, removed, nowMs, this.intervalMs);
    } catch (err) {
      if (!this.#failing) this.log.warn("live state not published (db show will not see it)", { error: (err as Error).message });
      this.#failing = true;
      return false;
    }
    this.#failing = false;
    this.#published = current;
    this.#stampedAtMs = nowMs;
    return true;
  }

  start(): void {
    // A restarted proxy must not leave the previous run's rows behind.
    this.#clear();
    this.publish(this.now());
  }

  periodMs(): number {
    return this.intervalMs;
  }

  tick(nowMs: number): void {
    this.publish(nowMs);
  }

  /** Removes the live state (a stopped proxy has none), then closes the sink. */
  stop(): void {
    this.#clear();
    this.sink.close();
  }

  #clear(): void {
    try {
      this.sink.clear();
    } catch (err) {
      this.log.warn("live state not cleared", { error: (err as Error).message });
    }
    this.#published.clear();
    this.#stampedAtMs = -Infinity;
  }
}

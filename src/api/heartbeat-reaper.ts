// Deregisters (soft-deletes) API-registered backends whose last heartbeat is older than
// EDGEPROXY_HEARTBEAT_TTL_SECS. Static backends (CLI, hand edits: no heartbeat) are never touched.
// The check-and-delete is one conditional write in the store, so a heartbeat that lands during a
// sweep is never lost. Runs in the proxy process while the API is enabled: the API component ticks
// sweep() every sweepIntervalMs.
import type { Logger } from "../core/logger.ts";

export interface HeartbeatExpiry {
  /** Soft-deletes every live row with a heartbeat older than `cutoffMs`; resolves with their ids. */
  expireHeartbeats(cutoffMs: number): Promise<string[]>;
}

/** How often to sweep: a quarter of the TTL, between 250 ms and 5 s (expiry is at most that late). */
export function sweepIntervalMs(ttlMs: number): number {
  return Math.min(5000, Math.max(250, Math.floor(ttlMs / 4)));
}

export class HeartbeatReaper {
  #running: Promise<string[]> | null = null;
  #failing = false;

  readonly store: HeartbeatExpiry;
  readonly ttlMs: number;
  readonly log: Logger;
  /** When the API started: nothing expires before a full TTL has passed since, because backends could
   *  not send heartbeats while it was down (a restart must not deregister everyone). */
  readonly startedAtMs: number;
  /** Called after a sweep that expired something (to apply the change to routing at once). */
  readonly onExpired: () => void;
  constructor(
    store: HeartbeatExpiry,
    ttlMs: number,
    log: Logger,
    startedAtMs: number,
    onExpired: () => void = () => {},
  ) {
    this.store = store;
    this.ttlMs = ttlMs;
    this.log = log;
    this.startedAtMs = startedAtMs;
    this.onExpired = onExpired;
  }

  /** One sweep at `nowMs`; resolves with the expired ids. Store failures are logged, not thrown. */
  sweep(nowMs: number): Promise<string[]> {
    if (nowMs - this.startedAtMs < this.ttlMs) return Promise.resolve([]);
    this.#running ??= this.#sweep(nowMs).finally(() => { this.#running = null; });
    return this.#running;
  }

  async #sweep(nowMs: number): Promise<string[]> {
    let expired: string[];
    try {
      expired = await this.store.expireHeartbeats(nowMs - this.ttlMs);
    } catch (err) {
      // Logged once per outage, not once per sweep.
      if (!this.#failing) this.log.error("heartbeat sweep failed, retrying every sweep", { error: (err as Error).message });
      this.#failing = true;
      return [];
    }
    if (this.#failing) this.log.info("heartbeat sweeps work again");
    this.#failing = false;
    for (const id of expired) this.log.info("backend deregistered: no heartbeat", { id, ttl_secs: this.ttlMs / 1000 });
    if (expired.length > 0) this.onExpired();
    return expired;
  }

  /** Resolves once a sweep under way finished. */
  async settled(): Promise<void> {
    await this.#running;
  }
}

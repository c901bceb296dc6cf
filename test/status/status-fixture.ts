// A StatusSources over plain data, for tests of the status data and page without a proxy.
import type { Backend } from "../../src/core/types.ts";
import type { StatusSources } from "../../src/status/status-sources.ts";
import type { TrafficTotals } from "../../src/proxy/traffic-totals.ts";

export function backend(id: string, over: Partial<Backend> = {}): Backend {
  return { id, app: "game", region: "sa", country: "BR", host: "10.0.0.1", port: 7000, healthy: true, weight: 2, softLimit: 10, hardLimit: 20, version: 1, ...over };
}

export const ZERO_TOTALS: TrafficTotals = { accepted: 0, active: 0, bytesReceived: 0, bytesSent: 0, connectFailures: 0, noBackend: 0, rateLimited: 0 };

/** Backends in slots (null = an empty slot) with their active counts. */
export function fakeSources(slots: (Backend | null)[], active: number[] = [], over: Partial<StatusSources> = {}): StatusSources & { clock: { now: number } } {
  const clock = { now: 100_000 };
  return {
    clock,
    pop: { id: "pop-sa-1", region: "sa", runtime: "node", version: "1.2.3", startedAtMs: 40_000 },
    now: () => clock.now,
    table: { size: slots.filter((b) => b !== null).length, backendAt: (slot) => slots[slot] ?? null },
    capacity: slots.length + 4,
    active: (slot) => active[slot] ?? 0,
    totals: () => ZERO_TOTALS,
    draining: () => false,
    ...over,
  };
}

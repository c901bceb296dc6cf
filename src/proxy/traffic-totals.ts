// The client handler's counters as totals "so far": bytes include the running tallies of connections
// still open. One formula for both readers, the metrics scrape and the status page.
import type { Splice } from "../runtime/types.ts";
import type { ProxyCounters } from "./handle-client.ts";

export interface TrafficTotals {
  readonly accepted: number;
  readonly active: number;
  /** Bytes from clients to backends, open connections included. */
  readonly bytesReceived: number;
  /** Bytes from backends to clients, open connections included. */
  readonly bytesSent: number;
  readonly connectFailures: number;
  readonly noBackend: number;
  readonly rateLimited: number;
}

/** What the totals read of a running splice (a worker thread reports these sums for its own). */
export type SpliceBytes = Pick<Splice, "bytesFromClient" | "bytesToClient">;

export function trafficTotals(counters: Readonly<ProxyCounters>, inFlight: Iterable<SpliceBytes>): TrafficTotals {
  let bytesReceived = counters.bytesFromClients, bytesSent = counters.bytesToClients;
  for (const splice of inFlight) {
    bytesReceived += splice.bytesFromClient;
    bytesSent += splice.bytesToClient;
  }
  const { accepted, active, connectFailures, noBackend, rateLimited } = counters;
  return { accepted, active, bytesReceived, bytesSent, connectFailures, noBackend, rateLimited };
}

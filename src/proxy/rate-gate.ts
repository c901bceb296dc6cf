// The accept gate's rate limit: one token per new connection from the client's token bucket (in the
// WASM core). Settings are read on every call, so a config reload applies to the next connection.
import type { ClientBuckets, RateLimitSettings } from "../core/token-bucket.ts";

/** true = let the connection in; false = refuse it (the caller closes it and counts it). */
export type RateGate = (remoteAddress: string, nowMs: number) => boolean;

export function createRateGate(buckets: ClientBuckets, settings: () => RateLimitSettings): RateGate {
  return (remoteAddress, nowMs) => {
    const s = settings();
    return !s.enabled || buckets.takeToken(typeof remoteAddress === "string" ? remoteAddress : "", nowMs, s);
  };
}

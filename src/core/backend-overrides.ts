// Operator overrides of a backend's weight and limits (config file [backends."id"]), laid over the
// store's rows when a snapshot is applied. The store stays untouched; removing an override restores
// the stored value at the next apply.
import type { RouteSnapshot } from "./types.ts";
import type { ProxyVersion } from "./proxy-protocol/header.ts";

export interface BackendOverride {
  readonly weight?: number;
  readonly softLimit?: number;
  readonly hardLimit?: number;
  /** PROXY header sent to this backend (instead of EDGEPROXY_PROXY_PROTOCOL); not part of routing. */
  readonly proxyProtocol?: ProxyVersion | "off";
}

export type BackendOverrides = ReadonlyMap<string, BackendOverride>;

/** The snapshot with each override applied; hard_limit is never left below soft_limit (raised to it).
 *  A backend without an override stays the very same object (the route table skips its slot). */
export function withOverrides(snapshot: RouteSnapshot, overrides: BackendOverrides): RouteSnapshot {
  if (overrides.size === 0) return snapshot;
  return {
    generation: snapshot.generation,
    backends: snapshot.backends.map((b) => {
      const o = overrides.get(b.id);
      if (o === undefined) return b;
      const softLimit = o.softLimit ?? b.softLimit;
      return { ...b, weight: o.weight ?? b.weight, softLimit, hardLimit: Math.max(o.hardLimit ?? b.hardLimit, softLimit) };
    }),
  };
}

// Operator overrides of a backend's weight and limits (config file [backends."id"]), laid over the
// store's rows when a snapshot is applied. The store stays untouched; removing an override restores
// the stored value at the next apply.
import type { Backend, RouteSnapshot } from "./types.ts";
import type { ProxyVersion } from "./proxy-protocol/header.ts";

export interface BackendOverride {
  readonly weight?: number;
  readonly softLimit?: number;
  readonly hardLimit?: number;
  /** PROXY header sent to this backend (instead of EDGEPROXY_PROXY_PROTOCOL); not part of routing. */
  readonly proxyProtocol?: ProxyVersion | "off";
}

export type BackendOverrides = ReadonlyMap<string, BackendOverride>;

/** The snapshot with each override applied (see withOverride). */
export function withOverrides(snapshot: RouteSnapshot, overrides: BackendOverrides): RouteSnapshot {
  if (overrides.size === 0) return snapshot;
  return { generation: snapshot.generation, backends: snapshot.backends.map((b) => withOverride(b, overrides)) };
}

/** The backend with its override applied, or the very same object when it has none; hard_limit is
 *  never left below soft_limit (raised to it). */
export function withOverride(b: Backend, overrides: BackendOverrides): Backend {
  const o = overrides.get(b.id);
  if (o === undefined) return b;
  const softLimit = o.softLimit ?? b.softLimit;
  return { ...b, weight: o.weight ?? b.weight, softLimit, hardLimit: Math.max(o.hardLimit ?? b.hardLimit, softLimit) };
}

// Domain types shared by every layer. Pure data: no I/O, no clocks.

/** One routable backend as the proxy sees it, after validation of its store row. */
export interface Backend {
  readonly id: string;
  readonly app: string;
  /** Region code, lower case ("sa", "us", "eu", "ap" or operator-defined). */
  readonly region: string;
  /** ISO 3166-1 alpha-2, upper case, or null when the row has none (no country tier). */
  readonly country: string | null;
  /** IPv4, IPv6 (no brackets) or hostname. */
  readonly host: string;
  readonly port: number;
  readonly healthy: boolean;
  readonly weight: number;
  readonly softLimit: number;
  readonly hardLimit: number;
  /** Row version, bumped on every change (replication needs it). */
  readonly version: number;
}

/** Immutable set of backends read from the store at one moment. */
export interface RouteSnapshot {
  /** Change marker of the store this snapshot was built from. */
  readonly generation: string;
  readonly backends: readonly Backend[];
}

/** What changed in the store since the last snapshot applied: the rows to route now and the ids that
 *  route no more (an id is in one or the other, never both). */
export interface RouteChanges {
  /** Change marker of the store these changes bring the snapshot to. */
  readonly generation: string;
  readonly backends: readonly Backend[];
  readonly removed: readonly string[];
}

/** Where a client is, as far as the geo database knows. */
export interface ClientLocation {
  readonly country: string | null;
  readonly region: string | null;
}

// The geo port: where a client address is, synchronously (it runs on every new connection).
import type { ClientLocation } from "../core/types.ts";

export interface GeoResolver {
  /** Never throws: an address the database does not know (or cannot parse) has no location. */
  locate(ip: string): ClientLocation;
}

export const NO_LOCATION: ClientLocation = Object.freeze({ country: null, region: null });

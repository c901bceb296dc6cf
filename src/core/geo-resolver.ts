// The geo port: where a client address is, synchronously (it runs on every new connection). The router
// asks it; geo/ implements it (MaxMind, or no database).
import type { ClientLocation } from "./types.ts";

export interface GeoResolver {
  /** Never throws: an address the database does not know (or cannot parse) has no location. */
  locate(ip: string): ClientLocation;
}

export const NO_LOCATION: ClientLocation = Object.freeze({ country: null, region: null });

// GeoResolver over a MaxMind GeoIP2/GeoLite2 Country, City or Enterprise database held in memory.
// The caller reads the file (src/runtime/) and passes its bytes; the whole file is checked here first,
// so a broken database is refused at start with a message instead of failing lookups later.
import type { ClientLocation } from "../core/types.ts";
import { normalizeClientIp } from "../core/client-ip.ts";
import { NO_LOCATION, type GeoResolver } from "../core/geo-resolver.ts";
import { LocationCache } from "./location-cache.ts";
import { checkMmdb, GeoDatabaseError, type MmdbInfo } from "./mmdb-check.ts";
import { CountryReader, NO_COUNTRY } from "./country-reader.ts";

export interface MaxmindResolverOptions {
  /** Addresses remembered per cache generation. Default 4096. */
  readonly cacheSize?: number;
  /** Called for a lookup that failed for a reason other than "address not in the database". */
  readonly onLookupError?: (ip: string, error: Error) => void;
}

export interface MaxmindResolver extends GeoResolver {
  readonly info: MmdbInfo;
}

/**
 * Country of a client from `country.iso_code` (the location of the address, not `registered_country`,
 * as the original edgeProxy did); its region from `regionOf`. Throws GeoDatabaseError for a bad file.
 */
export function createMaxmindResolver(bytes: Uint8Array, regionOf: (country: string) => string, options: MaxmindResolverOptions = {}): MaxmindResolver {
  const info = checkMmdb(bytes);
  const type = info.databaseType;
  if (!type.includes("City") && !type.includes("Country") && !type.includes("Enterprise")) {
    throw new GeoDatabaseError(`database type "${type}" has no country data: expected a GeoIP2/GeoLite2 Country, City or Enterprise database`);
  }
  const reader = new CountryReader(bytes, info);
  // Even uncached lookups are cheap now (a few µs); the cache still saves them for returning clients.
  const cache = new LocationCache(options.cacheSize ?? 4096);
  const byCountry = new Map<number, ClientLocation>(); // one frozen object per country, shared by all clients

  const locationOf = (code: number): ClientLocation => {
    let location = byCountry.get(code);
    if (location === undefined) {
      const country = String.fromCharCode(code >> 8, code & 255);
      byCountry.set(code, (location = Object.freeze({ country, region: regionOf(country) })));
    }
    return location;
  };

  return {
    info,
    locate(ip: string): ClientLocation {
      const key = normalizeClientIp(ip);
      const cached = cache.get(key);
      if (cached !== undefined) return cached;
      let location = NO_LOCATION;
      try {
        const code = reader.country(key);
        if (code !== NO_COUNTRY) location = locationOf(code);
      } catch (err) {
        // The file was checked whole at start, so this is a reader fault: report it, answer "no location".
        options.onLookupError?.(key, err as Error);
      }
      cache.set(key, location);
      return location;
    },
  };
}

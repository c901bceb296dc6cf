// GeoResolver over a MaxMind GeoIP2/GeoLite2 Country, City or Enterprise database held in memory.
// The caller reads the file (src/runtime/) and passes its bytes; the whole file is checked here first,
// so a broken database is refused at start with a message instead of failing lookups later.
import { Reader } from "@maxmind/geoip2-node";
import type { ClientLocation } from "../core/types.ts";
import { normalizeClientIp } from "../core/client-ip.ts";
import { NO_LOCATION, type GeoResolver } from "../core/geo-resolver.ts";
import { LocationCache } from "./location-cache.ts";
import { checkMmdb, GeoDatabaseError, type MmdbInfo } from "./mmdb-check.ts";

export interface MaxmindResolverOptions {
  /** Addresses remembered per cache generation (the reader allocates a model object per lookup). Default 4096. */
  readonly cacheSize?: number;
  /** Called for a lookup that failed for a reason other than "address not in the database". */
  readonly onLookupError?: (ip: string, error: Error) => void;
}

export interface MaxmindResolver extends GeoResolver {
  readonly info: MmdbInfo;
}

type Lookup = (ip: string) => { readonly country?: { readonly isoCode?: string } };

/**
 * The reader's city()/country()/enterprise() each refuse the other database types (city() on a Country
 * database throws BadMethodCallError), so the method follows metadata.database_type.
 */
function lookupFor(reader: ReturnType<typeof Reader.openBuffer>, databaseType: string): Lookup {
  if (databaseType.includes("City")) return (ip) => reader.city(ip);
  if (databaseType.includes("Enterprise")) return (ip) => reader.enterprise(ip);
  if (databaseType.includes("Country")) return (ip) => reader.country(ip);
  throw new GeoDatabaseError(`database type "${databaseType}" has no country data: expected a GeoIP2/GeoLite2 Country, City or Enterprise database`);
}

/**
 * Country of a client from `country.iso_code` (the location of the address, not `registered_country`,
 * as the original edgeProxy did); its region from `regionOf`. Throws GeoDatabaseError for a bad file.
 */
export function createMaxmindResolver(bytes: Uint8Array, regionOf: (country: string) => string, options: MaxmindResolverOptions = {}): MaxmindResolver {
  const info = checkMmdb(bytes);
  // The reader insists on a Buffer (a Node global that Bun and Deno provide too); wrap, do not copy.
  const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let reader: ReturnType<typeof Reader.openBuffer>;
  try {
    reader = Reader.openBuffer(buffer);
  } catch (err) {
    throw new GeoDatabaseError(`the reader refused the database: ${(err as Error).message}`);
  }
  const lookup = lookupFor(reader, info.databaseType);
  const cache = new LocationCache(options.cacheSize ?? 4096);
  const byCountry = new Map<string, ClientLocation>(); // one frozen object per country, shared by all clients

  const locationOf = (country: string): ClientLocation => {
    let location = byCountry.get(country);
    if (location === undefined) byCountry.set(country, (location = Object.freeze({ country, region: regionOf(country) })));
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
        const iso = lookup(key).country?.isoCode;
        if (typeof iso === "string" && iso.length === 2) location = locationOf(iso.toUpperCase());
      } catch (err) {
        // Not in the database, or not an IP address at all: no location. Anything else is a fault to report.
        const name = (err as Error).name;
        if (name !== "AddressNotFoundError" && name !== "ValueError") options.onLookupError?.(key, err as Error);
      }
      cache.set(key, location);
      return location;
    },
  };
}

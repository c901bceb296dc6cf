// The resolver used when EDGEPROXY_GEOIP_PATH is unset: nobody has a location, so the geo tiers
// never apply and clients are ranked by POP region, load and weight only.
import { NO_LOCATION, type GeoResolver } from "../core/geo-resolver.ts";

export const noGeo: GeoResolver = Object.freeze({ locate: () => NO_LOCATION });

// Writes the cost benchmark's GeoIP database: GeoLite2-City-shaped records (names in eight
// languages, shared values as pointers) with one city per client /24, so every client address of
// bench/cost.bench.mjs lands on a record of its own, as real traffic from many places does.
// Usage: node bench/lib/city-db.ts OUT.mmdb COUNT
import { writeFileSync } from "node:fs";
import { writeMmdb } from "../../test/fixtures/mmdb-writer.ts";

const COUNTRIES = ["BR", "AR", "CL", "US", "DE", "FR", "JP", "SG", "GB", "SE", "MX", "CA", "ES", "IT", "PT", "NL", "PL", "IN", "AU", "ZA"];
const [out, countText] = process.argv.slice(2);
const count = Number(countText);
if (!out || !(count > 0)) throw new Error("usage: city-db.ts OUT.mmdb COUNT");

/** The i-th client address's /24, as bench/cost.bench.mjs numbers them: 127.(1 + i / 256).(i % 256).0/24. */
const networks = Array.from({ length: count }, (_, i) => ({
  cidr: `127.${1 + (i >> 8)}.${i & 255}.0/24`,
  country: COUNTRIES[i % COUNTRIES.length]!,
  city: `City ${i}`,
}));
writeFileSync(out, writeMmdb({ databaseType: "GeoLite2-City", networks, fullRecords: true }));

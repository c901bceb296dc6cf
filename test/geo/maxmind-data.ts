// MaxMind's test databases, read as bytes the way the runtime layer hands them to the resolver.
import { readFileSync } from "node:fs";

export type MaxmindTestDb =
  | "GeoIP2-City-Test.mmdb"
  | "GeoLite2-Country-Test.mmdb"
  | "GeoIP2-City-Test-Broken-Double-Format.mmdb"
  | "GeoIP2-City-Test-Invalid-Node-Count.mmdb";

export function maxmindTestDb(name: MaxmindTestDb): Uint8Array {
  return new Uint8Array(readFileSync(new URL(`./maxmind-test-data/${name}`, import.meta.url)));
}

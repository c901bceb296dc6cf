// CountryReader (reads only country.iso_code) against MaxMind's full decoder (mmdb-lib) on every
// network of MaxMind's test databases and of generated City-shaped ones.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { Reader } from "mmdb-lib";
import { CountryReader, NO_COUNTRY } from "../../src/geo/country-reader.ts";
import { checkMmdb } from "../../src/geo/mmdb-check.ts";
import { writeMmdb } from "../fixtures/mmdb-writer.ts";
import { maxmindTestDb } from "./maxmind-data.ts";

interface Full {
  getWithPrefixLength(ip: string): [{ country?: { iso_code?: string } } | null, number];
}

const v4 = (n: bigint) => [24n, 16n, 8n, 0n].map((s) => (n >> s) & 255n).join(".");
const v6 = (n: bigint) => Array.from({ length: 8 }, (_, i) => ((n >> BigInt(112 - 16 * i)) & 0xffffn).toString(16)).join(":");

/** The first address of every network (found or not) in the IPv4 or the whole IPv6 space, in order,
 *  by asking the full decoder how long each prefix is. */
function* networks(full: Full, bits: 32 | 128): Generator<string> {
  const end = 1n << BigInt(bits);
  for (let n = 0n; n < end;) {
    const ip = bits === 32 ? v4(n) : v6(n);
    yield ip;
    const prefix = full.getWithPrefixLength(ip)[1];
    n += 1n << BigInt(bits - prefix);
  }
}

function iso(code: number): string | undefined {
  return code === NO_COUNTRY ? undefined : String.fromCharCode(code >> 8, code & 255);
}

function compareAll(bytes: Uint8Array, label: string): number {
  const reader = new CountryReader(bytes, checkMmdb(bytes));
  const full = new Reader(Buffer.from(bytes)) as unknown as Full;
  let found = 0;
  for (const bits of [32, 128] as const) {
    for (const ip of networks(full, bits)) {
      const expected = full.getWithPrefixLength(ip)[0]?.country?.iso_code;
      assert.equal(iso(reader.country(ip)), expected, `${label} ${ip}`);
      if (expected !== undefined) found++;
    }
  }
  return found;
}

describe("CountryReader", () => {
  for (const file of ["GeoIP2-City-Test.mmdb", "GeoLite2-Country-Test.mmdb"] as const) {
    test(`${file}: every network answers what the full decoder answers`, () => {
      assert.ok(compareAll(maxmindTestDb(file), file) > 100, "the test database has networks with a country");
    });
  }

  for (const recordSize of [24, 28, 32] as const) {
    test(`generated City-shaped database, ${recordSize}-bit records: every network matches`, () => {
      const countries = ["BR", "DE", "JP", "US", "ZA"];
      const nets = Array.from({ length: 300 }, (_, i) => ({ cidr: `127.${i >> 6}.${(i & 63) * 4}.0/22`, country: i % 7 === 0 ? undefined : countries[i % 5], registeredCountry: "SE", city: `City ${i}` }));
      nets.push({ cidr: "2001:db8::/32", country: "JP", registeredCountry: "SE", city: "Tokyo" });
      const bytes = writeMmdb({ databaseType: "GeoLite2-City", networks: nets, recordSize, fullRecords: true });
      assert.ok(compareAll(bytes, `City/${recordSize}`) > 200);
    });
  }

  test("IPv4-mapped, unknown and invalid addresses", () => {
    const bytes = writeMmdb({ databaseType: "GeoLite2-Country", networks: [{ cidr: "127.0.1.0/24", country: "BR" }, { cidr: "2001:db8::/32", country: "jp" }] });
    const reader = new CountryReader(bytes, checkMmdb(bytes));
    assert.equal(iso(reader.country("127.0.1.9")), "BR");
    assert.equal(iso(reader.country("::ffff:127.0.1.9")), "BR");
    assert.equal(iso(reader.country("::FFFF:7f00:109")), "BR");
    assert.equal(iso(reader.country("2001:DB8::1")), "JP", "lower-case codes come back upper-case");
    for (const ip of ["127.0.2.1", "::1", "", "x", "127.0.1", "127.0.1.9.1", "fe80::1%eth0", "2001:db8::1::2"]) assert.equal(reader.country(ip), NO_COUNTRY, ip);
  });

  test("a network wider than ::/96 covers every IPv4 address, as in the full decoder", () => {
    const bytes = writeMmdb({ databaseType: "GeoLite2-Country", networks: [{ cidr: "::/64", country: "BR" }] });
    const reader = new CountryReader(bytes, checkMmdb(bytes));
    assert.equal(iso(reader.country("1.2.3.4")), "BR");
    assert.equal(iso(reader.country("::5")), "BR");
    assert.equal(iso(reader.country("2001:db8::1")), undefined);
  });
});

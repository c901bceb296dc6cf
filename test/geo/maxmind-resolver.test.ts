// createMaxmindResolver on MaxMind's test databases (City and Country) and on generated ones.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { createMaxmindResolver } from "../../src/geo/maxmind-resolver.ts";
import { GeoDatabaseError } from "../../src/geo/mmdb-check.ts";
import { noGeo } from "../../src/geo/no-geo.ts";
import { regionTable } from "../../src/core/regions.ts";
import { writeMmdb } from "../fixtures/mmdb-writer.ts";
import { maxmindTestDb } from "./maxmind-data.ts";

const regionOf = regionTable();
const NONE = { country: null, region: null };

describe("MaxMind resolver", () => {
  for (const file of ["GeoIP2-City-Test.mmdb", "GeoLite2-Country-Test.mmdb"] as const) {
    test(`${file}: known addresses get their country and region`, () => {
      const geo = createMaxmindResolver(maxmindTestDb(file), regionOf);
      assert.deepEqual(geo.locate("2.125.160.216"), { country: "GB", region: "eu" });
      assert.deepEqual(geo.locate("81.2.69.142"), { country: "GB", region: "eu" }); // registered in US: location wins
      assert.deepEqual(geo.locate("89.160.20.112"), { country: "SE", region: "eu" });
      assert.deepEqual(geo.locate("216.160.83.56"), { country: "US", region: "us" });
      assert.deepEqual(geo.locate("2001:218::1"), { country: "JP", region: "ap" });
    });

    test(`${file}: unknown and odd addresses have no location`, () => {
      const errors: string[] = [];
      const geo = createMaxmindResolver(maxmindTestDb(file), regionOf, { onLookupError: (ip) => errors.push(ip) });
      for (const ip of ["1.2.3.4", "127.0.0.1", "::1", "10.0.0.1", "", "not-an-ip", "fe80::1%eth0"]) assert.deepEqual(geo.locate(ip), NONE, ip);
      assert.deepEqual(errors, [], "not found is not an error");
    });
  }

  test("the database type picks the reader method (city() on City, country() on Country)", () => {
    assert.equal(createMaxmindResolver(maxmindTestDb("GeoIP2-City-Test.mmdb"), regionOf).info.databaseType, "GeoIP2-City");
    assert.equal(createMaxmindResolver(maxmindTestDb("GeoLite2-Country-Test.mmdb"), regionOf).info.databaseType, "GeoLite2-Country");
  });

  test("IPv4-mapped IPv6 addresses are looked up as IPv4", () => {
    const geo = createMaxmindResolver(maxmindTestDb("GeoIP2-City-Test.mmdb"), regionOf);
    assert.deepEqual(geo.locate("::ffff:81.2.69.142"), { country: "GB", region: "eu" });
    assert.deepEqual(geo.locate("::FFFF:2.125.160.216"), { country: "GB", region: "eu" });
  });

  test("regions come from regionOf, with operator overrides and the unknown-country fallback", () => {
    const bytes = writeMmdb({ databaseType: "GeoLite2-Country", networks: [
      { cidr: "127.0.1.0/24", country: "BR" }, { cidr: "127.0.2.0/24", country: "MX" }, { cidr: "127.0.3.0/24", country: "ZA" },
    ] });
    const geo = createMaxmindResolver(bytes, regionTable({ MX: "sa" }));
    assert.deepEqual(geo.locate("127.0.1.10"), { country: "BR", region: "sa" });
    assert.deepEqual(geo.locate("127.0.2.10"), { country: "MX", region: "sa" });
    assert.deepEqual(geo.locate("127.0.3.10"), { country: "ZA", region: "us" });
  });

  test("generated City and Country databases: loopback ranges mapped like the e2e tests do", () => {
    for (const databaseType of ["GeoLite2-Country", "GeoLite2-City"] as const) {
      const geo = createMaxmindResolver(writeMmdb({ databaseType, networks: [
        { cidr: "127.0.1.0/24", country: "BR" }, { cidr: "127.0.4.0/24", country: "JP" }, { cidr: "127.0.9.0/24", registeredCountry: "DE" },
      ] }), regionOf);
      assert.deepEqual(geo.locate("127.0.1.10"), { country: "BR", region: "sa" }, databaseType);
      assert.deepEqual(geo.locate("::ffff:127.0.4.10"), { country: "JP", region: "ap" }, databaseType);
      assert.deepEqual(geo.locate("127.0.9.10"), NONE, "a record without country has no location");
      assert.deepEqual(geo.locate("127.0.5.10"), NONE);
    }
  });

  test("answers are cached and shared per country", () => {
    const geo = createMaxmindResolver(maxmindTestDb("GeoIP2-City-Test.mmdb"), regionOf, { cacheSize: 2 });
    const first = geo.locate("2.125.160.216");
    assert.equal(geo.locate("2.125.160.216"), first, "same object from the cache");
    assert.equal(geo.locate("81.2.69.142"), first, "one location object per country");
    for (const ip of ["1.1.1.1", "1.1.1.2", "1.1.1.3", "1.1.1.4"]) geo.locate(ip); // evicts
    assert.deepEqual(geo.locate("2.125.160.216"), { country: "GB", region: "eu" });
    assert.ok(Object.isFrozen(first));
  });

  test("broken, truncated or foreign files are refused at creation with a GeoDatabaseError", () => {
    const good = maxmindTestDb("GeoIP2-City-Test.mmdb");
    const cases: [Uint8Array, RegExp][] = [
      [maxmindTestDb("GeoIP2-City-Test-Broken-Double-Format.mmdb"), /double of 5 bytes/],
      [maxmindTestDb("GeoIP2-City-Test-Invalid-Node-Count.mmdb"), /node_count is wrong/],
      [good.subarray(0, 4000), /truncated/],
      [new TextEncoder().encode("not a database"), /not a \.mmdb file/],
      [writeMmdb({ databaseType: "GeoLite2-ASN", networks: [{ cidr: "1.0.0.0/8", country: "BR" }] }), /database type "GeoLite2-ASN" has no country data/],
    ];
    for (const [bytes, message] of cases) {
      assert.throws(() => createMaxmindResolver(bytes, regionOf), (err: unknown) => {
        assert.ok(err instanceof GeoDatabaseError, String(err));
        assert.match(err.message, message);
        return true;
      });
    }
  });

  test("a Uint8Array view into a larger buffer is read at its offset", () => {
    const bytes = maxmindTestDb("GeoLite2-Country-Test.mmdb");
    const padded = new Uint8Array(bytes.length + 100);
    padded.set(bytes, 50);
    const geo = createMaxmindResolver(padded.subarray(50, 50 + bytes.length), regionOf);
    assert.deepEqual(geo.locate("2.125.160.216"), { country: "GB", region: "eu" });
  });
});

describe("no geo database", () => {
  test("nobody has a location", () => {
    assert.deepEqual(noGeo.locate("2.125.160.216"), NONE);
    assert.deepEqual(noGeo.locate("::1"), NONE);
  });
});

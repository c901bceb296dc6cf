// The test MaxMind DB writer, checked against the real reader (@maxmind/geoip2-node) and our check.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { Reader } from "@maxmind/geoip2-node";
import { writeMmdb, type MmdbNetwork } from "../fixtures/mmdb-writer.ts";
import { checkMmdb } from "../../src/geo/mmdb-check.ts";

const NETWORKS: MmdbNetwork[] = [
  { cidr: "127.0.0.0/16", country: "US" },
  { cidr: "127.0.1.0/24", country: "BR" },
  { cidr: "127.0.1.128/25", country: "AR" }, // more specific, inside BR's /24: wins for .128-.255
  { cidr: "127.0.2.0/24", country: "DE", city: "Berlin" },
  { cidr: "10.9.0.0/16", registeredCountry: "JP" }, // a record without `country`
  { cidr: "2001:db8::/32", country: "JP" },
];

function open(bytes: Uint8Array) {
  return Reader.openBuffer(Buffer.from(bytes));
}

describe("writeMmdb", () => {
  for (const recordSize of [24, 28, 32] as const) {
    test(`Country database, ${recordSize}-bit records, reads back with the MaxMind reader`, () => {
      const reader = open(writeMmdb({ databaseType: "GeoLite2-Country", networks: NETWORKS, recordSize }));
      const iso = (ip: string) => reader.country(ip).country?.isoCode;
      assert.equal(iso("127.0.1.10"), "BR");
      assert.equal(iso("127.0.1.200"), "AR");
      assert.equal(iso("127.0.9.9"), "US");
      assert.equal(iso("127.0.2.1"), "DE");
      assert.equal(iso("2001:db8::1"), "JP");
      assert.equal(iso("::ffff:127.0.1.10"), "BR", "IPv4-mapped subtree points at the IPv4 one");
      assert.equal(iso("::127.0.1.10"), "BR", "IPv4 lives at ::/96");
      assert.equal(iso("10.9.1.1"), undefined);
      assert.equal(reader.country("10.9.1.1").registeredCountry?.isoCode, "JP");
      assert.equal(reader.country("127.0.1.10").traits.network, "127.0.1.0/25");
      assert.throws(() => reader.country("128.0.0.1"), { name: "AddressNotFoundError" });
      assert.throws(() => reader.country("::1"), { name: "AddressNotFoundError" });
    });
  }

  test("City database reads back with city(), including doubles and arrays", () => {
    const reader = open(writeMmdb({ databaseType: "GeoLite2-City", networks: NETWORKS }));
    const city = reader.city("127.0.2.7");
    assert.equal(city.country?.isoCode, "DE");
    assert.equal(city.city?.names.en, "Berlin");
    assert.equal(city.location?.latitude, -23.5);
    assert.equal(city.subdivisions?.[0]?.isoCode, "SP");
    assert.throws(() => reader.country("127.0.2.7"), { name: "BadMethodCallError" }, "the reader ties methods to database types");
  });

  test("metadata is what MaxMind writes", () => {
    const bytes = writeMmdb({ databaseType: "GeoLite2-Country", networks: NETWORKS, buildEpoch: 1_234_567_890 });
    const info = checkMmdb(bytes);
    assert.equal(info.databaseType, "GeoLite2-Country");
    assert.equal(info.ipVersion, 6);
    assert.equal(info.recordSize, 24);
    assert.equal(info.buildEpochSecs, 1_234_567_890);
    assert.equal(info.description, "edgeProxy test database");
  });

  test("identical records are stored once", () => {
    const one = writeMmdb({ databaseType: "GeoLite2-Country", networks: [{ cidr: "1.0.0.0/24", country: "BR" }] });
    const many = writeMmdb({ databaseType: "GeoLite2-Country", networks: Array.from({ length: 20 }, (_, i) => ({ cidr: `1.0.${i}.0/24`, country: "BR" })) });
    const dataBytes = (b: Uint8Array) => { const i = checkMmdb(b); return b.length - i.nodeCount * i.recordSize / 4; };
    assert.equal(dataBytes(many), dataBytes(one));
  });

  test("bad networks are refused", () => {
    for (const cidr of ["127.0.1.0", "127.0.1.0/33", "300.0.0.0/8", "::/0", "2001:db8::/129"]) {
      assert.throws(() => writeMmdb({ databaseType: "GeoLite2-Country", networks: [{ cidr, country: "BR" }] }), /bad (network|IPv4|IPv6)/, cidr);
    }
  });
});

// The test MaxMind DB writer, checked against MaxMind's decoder (mmdb-lib, the library under
// @maxmind/geoip2-node) and our check.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { Reader } from "mmdb-lib";
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

interface Place { readonly iso_code?: string; readonly names?: Record<string, string> }
interface Rec {
  readonly country?: Place;
  readonly registered_country?: Place;
  readonly city?: Place;
  readonly continent?: Place & { readonly code?: string };
  readonly location?: { readonly latitude?: number };
  readonly subdivisions?: readonly Place[];
}

interface RecReader {
  get(ip: string): Rec | null;
  getWithPrefixLength(ip: string): [Rec | null, number];
}

function open(bytes: Uint8Array): RecReader {
  return new Reader(Buffer.from(bytes)) as unknown as RecReader;
}

describe("writeMmdb", () => {
  for (const recordSize of [24, 28, 32] as const) {
    test(`Country database, ${recordSize}-bit records, reads back with the MaxMind reader`, () => {
      const reader = open(writeMmdb({ databaseType: "GeoLite2-Country", networks: NETWORKS, recordSize }));
      const iso = (ip: string) => reader.get(ip)?.country?.iso_code;
      assert.equal(iso("127.0.1.10"), "BR");
      assert.equal(iso("127.0.1.200"), "AR");
      assert.equal(iso("127.0.9.9"), "US");
      assert.equal(iso("127.0.2.1"), "DE");
      assert.equal(iso("2001:db8::1"), "JP");
      assert.equal(iso("::ffff:127.0.1.10"), "BR", "IPv4-mapped subtree points at the IPv4 one");
      assert.equal(iso("::127.0.1.10"), "BR", "IPv4 lives at ::/96");
      assert.equal(iso("10.9.1.1"), undefined);
      assert.equal(reader.get("10.9.1.1")?.registered_country?.iso_code, "JP");
      assert.equal(reader.getWithPrefixLength("::127.0.1.10")[1], 96 + 25, "127.0.1.0/25");
      assert.equal(reader.get("128.0.0.1"), null);
      assert.equal(reader.get("::1"), null);
    });
  }

  test("City database reads back, including doubles and arrays", () => {
    const reader = open(writeMmdb({ databaseType: "GeoLite2-City", networks: NETWORKS }));
    const city = reader.get("127.0.2.7")!;
    assert.equal(city.country?.iso_code, "DE");
    assert.equal(city.city?.names?.en, "Berlin");
    assert.equal(city.location?.latitude, -23.5);
    assert.equal(city.subdivisions?.[0]?.iso_code, "SP");
  });

  test("full City records (names in eight languages, shared values as pointers) read back and pass the check", () => {
    const networks = Array.from({ length: 50 }, (_, i) => ({ cidr: `127.1.${i}.0/24`, country: ["BR", "DE", "JP"][i % 3]!, city: `City ${i}` }));
    const bytes = writeMmdb({ databaseType: "GeoLite2-City", networks, fullRecords: true });
    checkMmdb(bytes);
    const reader = open(bytes);
    const rec = reader.get("127.1.7.9")!;
    assert.equal(rec.country?.iso_code, "DE");
    assert.equal(rec.registered_country?.iso_code, "DE");
    assert.equal(rec.continent?.code, "SA");
    assert.deepEqual(Object.keys(rec.city?.names ?? {}), ["de", "en", "es", "fr", "ja", "pt-BR", "ru", "zh-CN"]);
    assert.equal(rec.city?.names?.en, "City 7");
    assert.equal(rec.subdivisions?.[0]?.names?.["pt-BR"], "Sao Paulo (pt-BR)");
    // 50 cities in 3 countries: country maps, continent and key strings are written once
    const oneCity = writeMmdb({ databaseType: "GeoLite2-City", networks: networks.slice(0, 1), fullRecords: true });
    const dataBytes = (b: Uint8Array) => { const i = checkMmdb(b); return b.length - i.nodeCount * i.recordSize / 4; };
    assert.ok(dataBytes(bytes) < 50 * dataBytes(oneCity) / 3, `${dataBytes(bytes)} bytes for 50 records, ${dataBytes(oneCity)} for one`);
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

// checkMmdb: MaxMind's own files pass, their deliberately broken ones and damaged copies are refused
// with a message that says what is wrong.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { checkMmdb, GeoDatabaseError } from "../../src/geo/mmdb-check.ts";
import { writeMmdb } from "../fixtures/mmdb-writer.ts";
import { maxmindTestDb } from "./maxmind-data.ts";

function refused(bytes: Uint8Array, message: RegExp): void {
  assert.throws(() => checkMmdb(bytes), (err: unknown) => {
    assert.ok(err instanceof GeoDatabaseError, String(err));
    assert.match(err.message, message);
    return true;
  });
}

describe("checkMmdb", () => {
  test("MaxMind's City and Country test databases pass", () => {
    const city = checkMmdb(maxmindTestDb("GeoIP2-City-Test.mmdb"));
    assert.equal(city.databaseType, "GeoIP2-City");
    assert.equal(city.recordSize, 28);
    assert.equal(city.ipVersion, 6);
    assert.match(city.description ?? "", /GeoIP2 City Test Database/);
    assert.equal(checkMmdb(maxmindTestDb("GeoLite2-Country-Test.mmdb")).databaseType, "GeoLite2-Country");
  });

  test("a double stored in 5 bytes is found (the reader would read 8 and go on)", () => {
    refused(maxmindTestDb("GeoIP2-City-Test-Broken-Double-Format.mmdb"), /^data section at byte \d+: double of 5 bytes \(must be 8\)$/);
  });

  test("a node count larger than the file is found", () => {
    refused(maxmindTestDb("GeoIP2-City-Test-Invalid-Node-Count.mmdb"), /search tree of 100000 nodes .* does not fit before the metadata/);
  });

  test("truncated files and other files are refused", () => {
    const good = maxmindTestDb("GeoIP2-City-Test.mmdb");
    refused(good.subarray(0, good.length >> 1), /no MaxMind DB metadata .*not a \.mmdb file, or truncated/);
    refused(good.subarray(0, good.length - 12), /metadata at byte \d+: .* runs past the end/);
    refused(new TextEncoder().encode("not a database"), /no MaxMind DB metadata/);
    refused(new Uint8Array(0), /the file is empty/);
  });

  test("a tree record pointing past the data section is found", () => {
    const bytes = writeMmdb({ databaseType: "GeoLite2-Country", networks: [{ cidr: "1.2.3.0/24", country: "BR" }], recordSize: 32 });
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    view.setUint32(0, 0x00ff_ffff); // root's left record: far beyond node_count + 16 + data size
    refused(bytes, /data section at byte \d+: points outside the data section/);
  });

  test("a pointer loop in the data section is found (the reader would recurse forever)", () => {
    const bytes = writeMmdb({ databaseType: "GeoLite2-Country", networks: [{ cidr: "1.2.3.0/24", country: "BR" }], recordSize: 24 });
    const info = checkMmdb(bytes);
    // The only record becomes { "a": <pointer to itself> }: map of 1, utf8 "a", pointer to data offset 0.
    bytes.set([0xe1, 0x41, 0x61, 0x20, 0x00], info.nodeCount * 6 + 16);
    refused(bytes, /values nested deeper than 32 \(pointer loop\?\)/);
  });

  test("a wrong node count is caught by the separator check", () => {
    const good = writeMmdb({ databaseType: "GeoLite2-Country", networks: [{ cidr: "1.2.3.0/24", country: "BR" }], recordSize: 24 });
    const info = checkMmdb(good);
    const bytes = good.slice();
    bytes.set(bytes.subarray(0, 6), info.nodeCount * 6); // tree bytes where the zero separator must be
    refused(bytes, /separator after the search tree is not zero/);
  });

  test("a database from a newer format version is refused", () => {
    const bytes = writeMmdb({ databaseType: "GeoLite2-Country", networks: [{ cidr: "1.2.3.0/24", country: "BR" }] });
    const text = new TextDecoder("latin1").decode(bytes);
    const at = text.lastIndexOf("binary_format_major_version") + "binary_format_major_version".length;
    const patched = bytes.slice();
    assert.equal(patched[at], 0xa1); // uint16, 1 byte
    patched[at + 1] = 3;
    refused(patched, /metadata binary_format_major_version: expected 2, got 3/);
  });
});

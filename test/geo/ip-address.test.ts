import { test } from "node:test";
import assert from "node:assert/strict";
import { parseIpAddress } from "../../src/geo/ip-address.ts";

function parse(text: string): string | null {
  const out = new Uint8Array(16);
  const n = parseIpAddress(text, out);
  return n === 0 ? null : [...out.subarray(0, n)].join(".");
}

test("IPv4", () => {
  assert.equal(parse("1.2.3.4"), "1.2.3.4");
  assert.equal(parse("0.0.0.0"), "0.0.0.0");
  assert.equal(parse("255.255.255.255"), "255.255.255.255");
  for (const bad of ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.04", "1..2.3", "1.2.3.4 ", "a.b.c.d", "1.2.3.-4"]) assert.equal(parse(bad), null, bad);
});

test("IPv6", () => {
  const z = (...tail: number[]) => [...Array(16 - tail.length).fill(0), ...tail].join(".");
  assert.equal(parse("::"), z());
  assert.equal(parse("::1"), z(1));
  assert.equal(parse("2001:db8::1"), "32.1.13.184.0.0.0.0.0.0.0.0.0.0.0.1");
  assert.equal(parse("2001:DB8:0:0:0:0:0:1"), "32.1.13.184.0.0.0.0.0.0.0.0.0.0.0.1");
  assert.equal(parse("1::"), "0.1." + z().split(".").slice(2).join("."));
  assert.equal(parse("::1.2.3.4"), z(1, 2, 3, 4), "IPv4-compatible stays IPv6");
  assert.equal(parse("::ffff:1.2.3.4"), "1.2.3.4", "IPv4-mapped is IPv4");
  assert.equal(parse("::ffff:102:304"), "1.2.3.4");
  for (const bad of [":", ":1", "1:", "1:::2", "1::2::3", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "12345::", "g::1", "fe80::1%eth0", "::1.2.3", "1:2:3:4:5:6:7:1.2.3.4"]) {
    assert.equal(parse(bad), null, bad);
  }
});

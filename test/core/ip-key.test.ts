// Client keys for the token-bucket table: one 16-byte key per address, whatever way it is written.
import { test } from "node:test";
import assert from "node:assert/strict";
import { encodeIpKey } from "../../src/core/ip-key.ts";

const hex = (ip: string): string => {
  const out = new Uint8Array(16);
  encodeIpKey(ip, out);
  return Array.from(out, (b) => b.toString(16).padStart(2, "0")).join("");
};

test("IPv4, IPv4-mapped and IPv6 addresses encode to their 16 address bytes", () => {
  const cases: [string, string][] = [
    ["1.2.3.4", "00000000000000000000ffff01020304"],
    ["::ffff:1.2.3.4", "00000000000000000000ffff01020304"],
    ["::FFFF:1.2.3.4", "00000000000000000000ffff01020304"],
    ["255.255.255.255", "00000000000000000000ffffffffffff"],
    ["::", "00000000000000000000000000000000"],
    ["::1", "00000000000000000000000000000001"],
    ["1::", "00010000000000000000000000000000"],
    ["2001:db8::1", "20010db8000000000000000000000001"],
    ["2001:0DB8:0000:0000:0000:0000:0000:0001", "20010db8000000000000000000000001"],
    ["fe80::1%eth0", "fe800000000000000000000000000001"],
    ["64:ff9b::192.0.2.1", "0064ff9b0000000000000000c0000201"],
    ["1:2:3:4:5:6:7:8", "00010002000300040005000600070008"],
  ];
  for (const [ip, expected] of cases) assert.equal(hex(ip), expected, ip);
});

test("anything else is hashed into ff00::/8, where no TCP client can be", () => {
  const odd = ["", "1.2.3", "256.1.1.1", "1.2.3.4.5", "garbage", ":1", "1:", "1::2::3", "12345::1", "1:2:3:4:5:6:7:8:9", "::g"];
  const keys = new Set<string>();
  for (const ip of odd) {
    const key = hex(ip);
    assert.match(key, /^ff00/, ip);
    keys.add(key);
  }
  assert.equal(keys.size, odd.length, "distinct strings, distinct keys");
});

test("random IPv6 addresses: full and compressed spellings give the same key, the address bytes", () => {
  let state = 0x1234567;
  const next = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) >>> 16;
  for (let n = 0; n < 2000; n++) {
    // Runs of zero groups, so the compressed form uses "::" in every position.
    const groups = Array.from({ length: 8 }, () => (next() % 3 === 0 ? 0 : next()));
    const full = groups.map((g) => g.toString(16).padStart(4, "0")).join(":");
    const compressed = new URL(`http://[${full}]/`).hostname.slice(1, -1);
    assert.equal(hex(full), full.replaceAll(":", ""), full);
    assert.equal(hex(compressed), full.replaceAll(":", ""), `${compressed} (${full})`);
  }
});

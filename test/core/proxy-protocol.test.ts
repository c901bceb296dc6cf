// The PROXY protocol codec (src/core/proxy-protocol/): v1 and v2 parsing, encoding, CIDR matching.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { parseProxyHeader, startsLikeProxyHeader } from "../../src/core/proxy-protocol/parse.ts";
import { encodeProxyV1, encodeProxyV2 } from "../../src/core/proxy-protocol/encode.ts";
import { CidrSet } from "../../src/core/proxy-protocol/cidr.ts";
import { ipv6Text } from "../../src/core/proxy-protocol/ip-text.ts";
import { V2_SIGNATURE, type ConnectionOrigin } from "../../src/core/proxy-protocol/header.ts";

const ascii = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
};
const v4: ConnectionOrigin = { sourceAddress: "203.0.113.7", sourcePort: 51234, destinationAddress: "192.0.2.1", destinationPort: 443 };
const v6: ConnectionOrigin = { sourceAddress: "2001:db8::7", sourcePort: 40000, destinationAddress: "2001:db8:0:1::1", destinationPort: 8080 };

/** A v2 header by hand: ver/cmd, fam/proto, body. */
function v2(verCmd: number, famProto: number, body: Uint8Array): Uint8Array {
  const head = new Uint8Array(16);
  head.set(V2_SIGNATURE);
  head[12] = verCmd;
  head[13] = famProto;
  head[14] = body.length >> 8;
  head[15] = body.length & 0xff;
  return concat(head, body);
}

describe("PROXY v1", () => {
  test("TCP4 and TCP6 lines parse; the bytes after the CRLF are payload", () => {
    const bytes = ascii("PROXY TCP4 203.0.113.7 192.0.2.1 51234 443\r\nGET / HTTP/1.1\r\n");
    const parsed = parseProxyHeader(bytes);
    assert.deepEqual(parsed, { kind: "header", header: { command: "proxy", version: 1, origin: v4 }, length: 44 });
    const six = parseProxyHeader(ascii("PROXY TCP6 2001:DB8::7 2001:db8:0:1:0:0:0:1 40000 8080\r\n"));
    assert.deepEqual(six.kind === "header" && six.header, { command: "proxy", version: 1, origin: v6 }, "addresses in canonical form");
  });

  test("UNKNOWN is a LOCAL header (whatever follows it on the line)", () => {
    assert.deepEqual(parseProxyHeader(ascii("PROXY UNKNOWN\r\n")), { kind: "header", header: { command: "local", version: 1 }, length: 15 });
    assert.deepEqual(parseProxyHeader(ascii("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\nx")), { kind: "header", header: { command: "local", version: 1 }, length: 35 });
  });

  test("every proper prefix of a header is incomplete", () => {
    const line = encodeProxyV1(v6);
    for (let n = 1; n < line.length; n++) assert.equal(parseProxyHeader(line.subarray(0, n)).kind, "incomplete", `prefix ${n}`);
  });

  test("refused at once: wrong start, bad family, bad address or port, missing CR, binary", () => {
    const malformed = [
      "GET / HTTP/1.1\r\n", "PROXZ", "PROXY TCP5 1.2.3.4 1.2.3.4 1 2\r\n", "PROXY TCP4 1.2.3.4 1.2.3.4 1 2\n",
      "PROXY TCP4 ::1 1.2.3.4 1 2\r\n", "PROXY TCP6 1.2.3.4 ::1 1 2\r\n", "PROXY TCP4 1.2.3.256 1.2.3.4 1 2\r\n",
      "PROXY TCP4 1.2.3.4 1.2.3.4 65536 2\r\n", "PROXY TCP4 1.2.3.4 1.2.3.4 01 2\r\n", "PROXY TCP4 1.2.3.4 1.2.3.4 1\r\n",
      "PROXY TCP4 1.2.3.4 1.2.3.4 1 2 3\r\n", "PROXY TCP4  1.2.3.4 1.2.3.4 1 2\r\n", "PROXY TCP4 1.2.3.4\x001", "PROXY \rX",
      "PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n", "PROXY\r\n",
    ];
    for (const text of malformed) assert.deepEqual(parseProxyHeader(ascii(text)), { kind: "rejected", reason: "malformed" }, JSON.stringify(text));
  });

  test("a line without its CRLF within 107 bytes is oversized", () => {
    const long = ascii("PROXY UNKNOWN " + "x".repeat(93));
    assert.equal(long.length, 107);
    assert.deepEqual(parseProxyHeader(long.subarray(0, 106)), { kind: "incomplete" });
    assert.deepEqual(parseProxyHeader(long), { kind: "rejected", reason: "oversized" });
    const longest = ascii("PROXY UNKNOWN " + "x".repeat(91) + "\r\n");
    assert.equal(parseProxyHeader(longest).kind, "header", "107 bytes with the CRLF is allowed");
  });
});

describe("PROXY v2", () => {
  test("INET and INET6 STREAM headers parse; TLVs are skipped", () => {
    const tlvs = Uint8Array.of(0x04, 0x00, 0x02, 0xaa, 0xbb, 0x05, 0x00, 0x00); // NOOP(2 bytes), UNIQUE_ID(empty)
    const encoded = encodeProxyV2(v4);
    const body = concat(encoded.subarray(16), tlvs);
    const bytes = concat(v2(0x21, 0x11, body), ascii("payload"));
    assert.deepEqual(parseProxyHeader(bytes), { kind: "header", header: { command: "proxy", version: 2, origin: v4 }, length: 16 + body.length });
    const six = encodeProxyV2(v6);
    assert.deepEqual(parseProxyHeader(six), { kind: "header", header: { command: "proxy", version: 2, origin: v6 }, length: 52 });
  });

  test("LOCAL, UNSPEC, UNIX and DGRAM mean: use the socket's own addresses", () => {
    for (const [verCmd, famProto, size] of [[0x20, 0x00, 0], [0x20, 0x11, 12], [0x21, 0x00, 7], [0x21, 0x31, 216], [0x21, 0x12, 12]] as const) {
      const parsed = parseProxyHeader(v2(verCmd, famProto, new Uint8Array(size)));
      assert.deepEqual(parsed, { kind: "header", header: { command: "local", version: 2 }, length: 16 + size }, `${verCmd.toString(16)} ${famProto.toString(16)}`);
    }
  });

  test("every proper prefix is incomplete; refused: bad signature, version, command, family, short addresses, broken TLV", () => {
    const header = encodeProxyV2(v6);
    for (let n = 1; n < header.length; n++) assert.equal(parseProxyHeader(header.subarray(0, n)).kind, "incomplete", `prefix ${n}`);
    const bad = [
      concat(Uint8Array.of(0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0b)),
      v2(0x11, 0x11, new Uint8Array(12)), v2(0x22, 0x11, new Uint8Array(12)), v2(0x21, 0x41, new Uint8Array(12)),
      v2(0x21, 0x13, new Uint8Array(12)), v2(0x21, 0x11, new Uint8Array(11)), v2(0x21, 0x21, new Uint8Array(35)),
      v2(0x21, 0x11, concat(new Uint8Array(12), Uint8Array.of(0x04, 0x00, 0x05, 0x00))),
      v2(0x21, 0x11, concat(new Uint8Array(12), Uint8Array.of(0x04, 0x00))),
    ];
    for (const bytes of bad) assert.deepEqual(parseProxyHeader(bytes), { kind: "rejected", reason: "malformed" });
  });

  test("a length beyond the bound is oversized as soon as the fixed part is in", () => {
    const head = v2(0x21, 0x11, new Uint8Array(0));
    head[14] = 0x10; // 4096 + 16
    assert.deepEqual(parseProxyHeader(head), { kind: "rejected", reason: "oversized" });
    const fits = v2(0x21, 0x11, concat(new Uint8Array(12), Uint8Array.of(0x04, 0x0f, 0xe1), new Uint8Array(0x0fe1)));
    assert.equal(fits.length, 4096);
    assert.equal(parseProxyHeader(fits).kind, "header");
  });
});

describe("encoding", () => {
  test("round trips, v4-mapped ends become TCP4, mixed families become TCP6", () => {
    for (const origin of [v4, v6]) {
      for (const encode of [encodeProxyV1, encodeProxyV2]) {
        const parsed = parseProxyHeader(encode(origin));
        assert.deepEqual(parsed.kind === "header" && parsed.header.command === "proxy" && parsed.header.origin, origin);
      }
    }
    const mapped = { sourceAddress: "::ffff:127.0.0.77", sourcePort: 1, destinationAddress: "::FFFF:127.0.0.1", destinationPort: 2 };
    assert.equal(new TextDecoder().decode(encodeProxyV1(mapped)), "PROXY TCP4 127.0.0.77 127.0.0.1 1 2\r\n");
    assert.equal(encodeProxyV2(mapped)[13], 0x11);
    const mixed = { sourceAddress: "127.0.0.77", sourcePort: 1, destinationAddress: "::1", destinationPort: 2 };
    assert.equal(new TextDecoder().decode(encodeProxyV1(mixed)), "PROXY TCP6 ::ffff:127.0.0.77 ::1 1 2\r\n");
  });

  test("an end that is no IP address: v1 UNKNOWN, v2 LOCAL", () => {
    const odd = { sourceAddress: "", sourcePort: 0, destinationAddress: "127.0.0.1", destinationPort: 80 };
    assert.equal(new TextDecoder().decode(encodeProxyV1(odd)), "PROXY UNKNOWN\r\n");
    assert.deepEqual(parseProxyHeader(encodeProxyV2(odd)), { kind: "header", header: { command: "local", version: 2 }, length: 16 });
  });

  test("IPv6 text is RFC 5952", () => {
    const bytes = (groups: number[]) => Uint8Array.from(groups.flatMap((g) => [g >> 8, g & 0xff]));
    assert.equal(ipv6Text(bytes([0, 0, 0, 0, 0, 0, 0, 1])), "::1");
    assert.equal(ipv6Text(bytes([0x2001, 0xdb8, 0, 0, 1, 0, 0, 1])), "2001:db8::1:0:0:1");
    assert.equal(ipv6Text(bytes([0x2001, 0xdb8, 0, 1, 1, 1, 1, 1])), "2001:db8:0:1:1:1:1:1");
    assert.equal(ipv6Text(bytes([0, 0, 0, 0, 0, 0, 0, 0])), "::");
    assert.equal(ipv6Text(bytes([0, 0, 0, 0, 0, 0xffff, 0x7f00, 1])), "::ffff:127.0.0.1");
  });

  test("startsLikeProxyHeader: signature prefixes of either version", () => {
    assert.ok(startsLikeProxyHeader(ascii("PRO")));
    assert.ok(startsLikeProxyHeader(V2_SIGNATURE.subarray(0, 5)));
    assert.ok(!startsLikeProxyHeader(ascii("POST /")));
    assert.ok(!startsLikeProxyHeader(new Uint8Array(0)));
  });
});

describe("CidrSet", () => {
  test("IPv4 and IPv6 blocks; mapped clients match IPv4 blocks; bare addresses are single hosts", () => {
    const set = CidrSet.parse(" 10.0.0.0/8, 192.0.2.7 ,2001:db8::/32, ::1 ");
    assert.equal(set.size, 4);
    for (const ip of ["10.1.2.3", "::ffff:10.255.0.1", "192.0.2.7", "2001:db8:ffff::1", "::1"]) assert.ok(set.contains(ip), ip);
    for (const ip of ["11.0.0.1", "192.0.2.8", "2001:db9::1", "::2", "", "not-an-ip", "10.0.0"]) assert.ok(!set.contains(ip), ip);
    assert.ok(CidrSet.parse("0.0.0.0/0").contains("8.8.8.8"));
    assert.ok(!CidrSet.parse("0.0.0.0/0").contains("2001:db8::1"), "an IPv4 block holds no IPv6 address");
    assert.ok(CidrSet.parse("::/0").contains("2001:db8::1"));
    assert.ok(CidrSet.parse("127.0.0.0/31").contains("127.0.0.1"));
    assert.ok(!CidrSet.parse("127.0.0.0/31").contains("127.0.0.2"));
    assert.equal(CidrSet.parse(" , ").size, 0);
  });

  test("bad entries are refused with the accepted form", () => {
    for (const bad of ["10.0.0.0/33", "2001:db8::/129", "10.0.0.1/8", "banana", "10.0.0.0/", "10.0.0.0/-1", "fe80::1%eth0"]) {
      assert.throws(() => CidrSet.parse(`127.0.0.1, ${bad}`), (err: Error) => err.message.includes("expected IPv4 or IPv6 CIDRs") && err.message.includes(bad), bad);
    }
  });
});

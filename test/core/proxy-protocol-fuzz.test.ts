// Fuzz of the PROXY header parser: random bytes and mutated valid headers (v1, v2 with TLVs). It
// never throws; every answer is a header, "incomplete" or a typed rejection; and the answer is
// stable as bytes arrive (the gate parses growing prefixes: once a prefix is decided, every longer
// one is decided the same way). Seeded: a failure names the seed that reproduces it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseProxyHeader } from "../../src/core/proxy-protocol/parse.ts";
import { encodeProxyV2 } from "../../src/core/proxy-protocol/encode.ts";
import { PROXY_REJECTIONS, type ProxyParse } from "../../src/core/proxy-protocol/header.ts";
import { mutate, prng, validHeader } from "../fixtures/proxy-headers.ts";

function checkOne(bytes: Uint8Array, seed: number): ProxyParse {
  let decided: ProxyParse | null = null;
  for (let n = 0; n <= bytes.length; n++) {
    let result: ProxyParse;
    try {
      result = parseProxyHeader(bytes.subarray(0, n));
    } catch (err) {
      assert.fail(`seed ${seed}: parse threw ${(err as Error).message} on ${Buffer.from(bytes.subarray(0, n)).toString("hex")}`);
    }
    if (result.kind === "rejected") assert.ok(PROXY_REJECTIONS.includes(result.reason), `seed ${seed}: reason ${result.reason}`);
    if (result.kind === "header") {
      assert.ok(result.length > 0 && result.length <= n, `seed ${seed}: length ${result.length} of ${n}`);
      if (result.header.command === "proxy") {
        // Whatever was accepted is a usable origin: it encodes and parses back to itself.
        const again = parseProxyHeader(encodeProxyV2(result.header.origin));
        assert.deepEqual(again.kind === "header" && again.header.command === "proxy" && again.header.origin, result.header.origin, `seed ${seed}`);
      }
    }
    if (decided !== null) assert.deepEqual(result, decided, `seed ${seed}: prefix ${n} changed a decided answer`);
    else if (result.kind !== "incomplete") decided = result;
  }
  return decided ?? { kind: "incomplete" };
}

test("valid headers parse whole (with any payload after them) and only when whole", () => {
  const rand = prng(0x5eed);
  for (let i = 0; i < 2000; i++) {
    const header = validHeader(rand);
    const payload = Uint8Array.from({ length: Math.floor(rand() * 8) }, () => Math.floor(rand() * 256));
    const bytes = new Uint8Array(header.length + payload.length);
    bytes.set(header);
    bytes.set(payload, header.length);
    const result = checkOne(bytes, i);
    assert.equal(result.kind, "header", `input ${i}`);
    assert.equal(result.kind === "header" && result.length, header.length, `input ${i}`);
  }
});

test("mutated headers and random bytes: never a throw, always a typed, stable answer", () => {
  const outcomes = new Map<string, number>();
  for (let seed = 1; seed <= 6000; seed++) {
    const rand = prng(seed);
    const bytes = seed % 5 === 0
      ? Uint8Array.from({ length: Math.floor(rand() * 64) }, () => Math.floor(rand() * 256))
      : mutate(validHeader(rand), rand);
    const result = checkOne(bytes, seed);
    const key = result.kind === "rejected" ? result.reason : result.kind;
    outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
  }
  // The mutations reach every outcome the parser has (a fuzz that only ever hits one is no fuzz).
  for (const kind of ["header", "incomplete", "malformed", "oversized"]) assert.ok((outcomes.get(kind) ?? 0) > 0, `${kind} never reached: ${JSON.stringify([...outcomes])}`);
});

// Random and malformed request bodies for the API fuzz tests, from a seeded generator (a failure
// reproduces with the same seed). Every body is invalid by construction: nothing may be written.
import { registration } from "./api-fixture.ts";

export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0; // mulberry32
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rand = () => number;
const pick = <T>(rand: Rand, list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;
const int = (rand: Rand, max: number) => Math.floor(rand() * max);

function randomString(rand: Rand, max = 40): string {
  const alphabets = ["abcXYZ019-_.", " \t\n\"'\\{}[]:,", "\u0000\u0001\u007f", "é漢字🙂\ud800", "%00%zz"];
  const chars = pick(rand, alphabets) + pick(rand, alphabets);
  let s = "";
  for (let i = int(rand, max); i > 0; i--) s += chars[int(rand, chars.length)];
  return s;
}

function randomValue(rand: Rand, depth = 0): unknown {
  switch (int(rand, depth > 3 ? 6 : 8)) {
    case 0: return null;
    case 1: return rand() < 0.5;
    case 2: return pick(rand, [0, -1, 1.5, 65536, 1e308, -0, Number.MAX_SAFE_INTEGER + 2, 2 ** 31]);
    case 3: return int(rand, 100_000) - 50_000;
    case 4: return randomString(rand);
    case 5: return pick(rand, ["", "10.0.0.1", "::1", "sa", "true", "null", "80"]);
    case 6: return Array.from({ length: int(rand, 4) }, () => randomValue(rand, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = int(rand, 5); i > 0; i--) o[pick(rand, ["id", "app", "region", "ip", "port", "weight", "x", "__proto__", "constructor", randomString(rand, 8)])] = randomValue(rand, depth + 1);
      return o;
    }
  }
}

/** A bad value for each field of a registration (each one alone makes the body invalid). */
const BAD: Readonly<Record<string, readonly unknown[]>> = {
  id: ["", null, 1, [], {}, "a\u0000b", "x".repeat(300), true, "\udc00", "a\ud83d"],
  app: [null, 1, [], {}, "y".repeat(300), false, "a\tb", "\ud800"],
  region: ["", " ", "south america", "x".repeat(70), 1, null, "sa/../eu"],
  country: ["BRA", "B", "12", 1, {}, "é1"],
  ip: ["", "999.1.1.1", "10.0.0", "10.0.0.1:80", "fd00:::1", "-bad-.host", "a..b", 10, null, "[::1]"],
  port: [0, -1, 65536, 1.5, "80", null, 1e309, [], true, NaN],
  weight: [0, -3, 1.1, "2", null, 1e7],
  soft_limit: [0, -1, "100", 2.5, null, 1e7],
  hard_limit: [0, -1, "150", 3.5, null, 1e7, 1],
};

/** One malformed body (a string: exactly the bytes sent). */
export function malformedBody(rand: Rand): string {
  switch (int(rand, 10)) {
    case 0:
    case 1:
    case 2: {
      // A valid registration with exactly one field broken.
      const field = pick(rand, Object.keys(BAD));
      return JSON.stringify(registration({ id: `fuzz-${int(rand, 1e9)}`, [field]: pick(rand, BAD[field]!) }));
    }
    case 3: {
      // A required field missing, or an unknown one added.
      const body = registration({ id: `fuzz-${int(rand, 1e9)}` });
      if (rand() < 0.5) delete body[pick(rand, ["id", "app", "region", "ip", "port"])];
      else body[pick(rand, ["wieght", "healthy", "deleted", "extra", "Port", "ID"])] = randomValue(rand);
      return JSON.stringify(body);
    }
    case 4: return JSON.stringify(randomValue(rand));
    case 5: {
      // Valid JSON text cut short, or with one structural character replaced by another.
      const text = JSON.stringify(registration({ id: `fuzz-${int(rand, 1e9)}` }));
      if (rand() < 0.5) return text.slice(0, 1 + int(rand, text.length - 2));
      const structural = [...text].flatMap((c, i) => ("{}:,\"".includes(c) ? [i] : []));
      const at = pick(rand, structural);
      return text.slice(0, at) + pick(rand, "{}:,[]".replace(text[at]!, "").split("")) + text.slice(at + 1);
    }
    case 6: return randomString(rand, 200);
    case 7: return pick(rand, ["", " ", "null", "[]", "{}", "0", "\"\"", "true", "[{}]", "{\"id\":}", "\ufeff{}"]);
    case 8: {
      // Deep nesting, long strings, huge numbers.
      const depth = 1 + int(rand, 5000);
      return pick(rand, ["[".repeat(depth) + "]".repeat(depth), `{"id":"${"z".repeat(int(rand, 60_000))}"}`, `{"port":${"9".repeat(1 + int(rand, 400))}}`]);
    }
    default: return `{"id":"fuzz","app":"a","region":"eu","ip":"10.0.0.1","port":7000,${randomString(rand, 30)}}`;
  }
}

// The known-variable list comes from the loader itself: every variable the README documents is in it,
// and a misspelled one is not.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { knownVariables, unknownEnvVariables } from "../../src/config-variables.ts";
import { loadConfig } from "../../src/config.ts";
import { repoRoot } from "../fixtures/runtime.ts";

test("every EDGEPROXY_* variable in the README's tables is known to the loader", () => {
  const readme = readFileSync(join(repoRoot, "README.md"), "utf8");
  const documented = [...readme.matchAll(/^\| `(EDGEPROXY_[A-Z0-9_]+)`/gm)].map((m) => m[1]!);
  assert.ok(documented.length > 50, `found ${documented.length}`);
  const known = new Set(knownVariables());
  assert.deepEqual(documented.filter((n) => !known.has(n)), []);
});

test("misspelled variables are named with the nearest known one; known and foreign ones are not", () => {
  assert.deepEqual(unknownEnvVariables({ EDGEPROXY_LISTEN_ADR: "127.0.0.1:1", EDGEPROXY_LISTEN_ADDR: "127.0.0.1:2", EDGEPROXY_METRICS_ENABLE: "true", PATH: "/bin" }), [
    { name: "EDGEPROXY_LISTEN_ADR", closest: "EDGEPROXY_LISTEN_ADDR" },
    { name: "EDGEPROXY_METRICS_ENABLE", closest: "EDGEPROXY_METRICS_ENABLED" },
  ]);
});

test("every switch takes 1/0 as well as true/false, and every one says so the same way", () => {
  const switches: string[] = [];
  for (const name of knownVariables()) {
    let message = "";
    try {
      loadConfig({ [name]: "maybe" });
    } catch (err) {
      message = (err as Error).message;
    }
    if (!/true|false/.test(message)) continue;
    switches.push(name);
    assert.equal(message, `${name}: expected true or false (or 1/0), got "maybe"`);
    for (const [text, on] of [["1", true], ["0", false], ["TRUE", true], ["false", false]] as const) {
      assert.doesNotThrow(() => { try { loadConfig({ [name]: text }); } catch (err) { if (on && /required when|would listen|is not a loopback/.test((err as Error).message)) return; throw err; } }, `${name}=${text}`);
    }
  }
  assert.ok(switches.length >= 12, switches.join(" "));
});

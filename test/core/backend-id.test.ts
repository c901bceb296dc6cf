// One backend-id rule (core/backend-id.ts): the API body, the CLI argument, the store's input check and
// the store row parser accept and refuse exactly the same ids.
import { test } from "node:test";
import assert from "node:assert/strict";
import { isBackendId } from "../../src/core/backend-id.ts";
import { parseBackendRow } from "../../src/core/backend-row.ts";
import { parseRegisterBody } from "../../src/api/register-body.ts";
import * as arg from "../../src/cli/arguments.ts";
import { checkId } from "../../src/store/backend-input.ts";

const ROW = { app: "myapp", region: "sa", country: "BR", wg_ip: "10.0.0.1", port: 8080, healthy: 1, weight: 1, soft_limit: 10, hard_limit: 20 };
const BODY = { app: "myapp", region: "sa", ip: "10.0.0.1", port: 8080 };

/** Whether each entry point accepts the id. */
function verdicts(id: string) {
  const accepts = (f: () => unknown) => { try { f(); return true; } catch { return false; } };
  return {
    rule: isBackendId(id),
    api: parseRegisterBody({ ...BODY, id }, 0).ok,
    cli: accepts(() => arg.backendId(id)),
    storeInput: accepts(() => checkId(id)),
    storeRow: parseBackendRow({ ...ROW, id }).ok,
  };
}

const CASES: ReadonlyArray<readonly [string, string, boolean]> = [
  ["plain", "sa-node-1", true],
  ["quotes and spaces are just text", `a "b" 'c' d`, true],
  ["non-ASCII", "nó-são-paulo-🚀", true], // the rocket is a surrogate pair: well-formed
  ["one character", "x", true],
  ["255 characters", "x".repeat(255), true],
  ["empty", "", false],
  ["256 characters", "x".repeat(256), false],
  ["newline", "a\nb", false],
  ["NUL", "a\u0000b", false],
  ["tab", "a\tb", false],
  ["DEL", "a\u007fb", false],
  ["lone high surrogate", "a\ud800b", false],
  ["lone low surrogate", "\udc00", false],
  ["reversed pair", "\udc00\ud800", false],
];

for (const [name, id, ok] of CASES) {
  test(`backend id, ${name}: ${ok ? "accepted" : "refused"} by the API, the CLI and the store alike`, () => {
    assert.deepEqual(verdicts(id), { rule: ok, api: ok, cli: ok, storeInput: ok, storeRow: ok });
  });
}

test("each refusal names the same accepted form", () => {
  const form = "text of 1-255 characters without control characters or lone surrogates";
  const api = parseRegisterBody({ ...BODY, id: "a\ud800" }, 0);
  assert.ok(!api.ok && api.error.includes(form), JSON.stringify(api));
  assert.throws(() => arg.backendId("a\ud800"), (e: Error) => e.message.includes(form));
  assert.throws(() => checkId("a\ud800"), (e: Error) => e.message.includes(form));
  const row = parseBackendRow({ ...ROW, id: "a\ud800" });
  assert.ok(!row.ok && row.reason.includes(form));
});

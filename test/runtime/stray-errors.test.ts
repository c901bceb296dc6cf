// The Deno guard against an uncaught connection reset (src/runtime/stray-errors.ts): a process that
// installed it survives a thrown ECONNRESET and says so; any other uncaught error still ends it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runtime, runtimeCommand } from "../fixtures/runtime.ts";
import { isStraySocketError } from "../../src/runtime/stray-errors.ts";

test("only connection-level codes count as stray", () => {
  assert.equal(isStraySocketError(Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" })), true);
  assert.equal(isStraySocketError(Object.assign(new Error("x"), { code: "ERR_ASSERTION" })), false);
  assert.equal(isStraySocketError(new Error("no code")), false);
  assert.equal(isStraySocketError(null), false);
});

test("on Deno: a thrown ECONNRESET is logged and the process goes on; another error still ends it", { skip: runtime !== "deno" }, () => {
  const dir = mkdtempSync(join(tmpdir(), "edgeproxy-stray-"));
  try {
    const guard = new URL("../../src/runtime/stray-errors.ts", import.meta.url).href;
    const script = (thrown: string) => `
      import { ignoreStraySocketErrors } from ${JSON.stringify(guard)};
      ignoreStraySocketErrors((m) => console.log("warned: " + m));
      setTimeout(() => { throw ${thrown}; }, 1);
      setTimeout(() => console.log("still running"), 50);
    `;
    writeFileSync(join(dir, "reset.ts"), script(`Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" })`));
    writeFileSync(join(dir, "other.ts"), script(`new Error("a real bug")`));
    const [cmd, ...args] = runtimeCommand(join(dir, "reset.ts"));
    const reset = spawnSync(cmd!, args, { encoding: "utf8", timeout: 30_000 });
    assert.equal(reset.status, 0, reset.stderr);
    assert.match(reset.stdout, /warned: stray socket error ignored/);
    assert.match(reset.stdout, /still running/);
    const [cmd2, ...args2] = runtimeCommand(join(dir, "other.ts"));
    const other = spawnSync(cmd2!, args2, { encoding: "utf8", timeout: 30_000 });
    assert.notEqual(other.status, 0);
    assert.doesNotMatch(other.stdout, /still running/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

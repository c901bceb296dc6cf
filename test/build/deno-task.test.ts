// `deno task …` must work: an npm-installed deno binary in node_modules/.bin once broke every task.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { repoRoot } from "../fixtures/runtime.ts";

const deno = process.env.DENO_BIN ?? join(repoRoot, ".tools/node_modules/.bin/deno");

test("nothing in node_modules/.bin is a native deno binary", () => {
  assert.equal(existsSync(join(repoRoot, "node_modules/.bin/deno")), false);
});

test("deno task cli runs the CLI", { skip: existsSync(deno) ? false : `no deno at ${deno}: run through npm test or set DENO_BIN` }, () => {
  const res = spawnSync(deno, ["task", "cli", "--help"], { cwd: repoRoot, encoding: "utf8", timeout: 60_000 });
  assert.equal(res.status, 0, res.stderr);
  assert.match(res.stdout + res.stderr, /edgeproxy/);
});

// env, fs and signals helpers: the same behaviour on Node, Bun and Deno.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { readEnv } from "../../src/runtime/env.ts";
import { exists, modifiedAt, readFileBytes, readFileText } from "../../src/runtime/fs.ts";
import { onShutdownSignal } from "../../src/runtime/signals.ts";

test("readEnv returns the environment as a plain record copy", () => {
  const env = readEnv();
  assert.equal(typeof env.PATH, "string");
  env.EDGEPROXY_TEST_ONLY = "x";
  assert.equal(readEnv().EDGEPROXY_TEST_ONLY, undefined, "a copy, not the live environment");
});

test("fs helpers read bytes and text, report mtime and existence", async () => {
  const dir = await mkdtemp(join(tmpdir(), "edgeproxy-fs-"));
  try {
    const file = join(dir, "a.txt");
    await writeFile(file, "héllo");
    assert.deepEqual(await readFileBytes(file), new Uint8Array(Buffer.from("héllo")));
    assert.ok((await readFileBytes(file)) instanceof Uint8Array);
    assert.equal(await readFileText(file), "héllo");
    const mtime = await modifiedAt(file);
    assert.ok(mtime !== null && Math.abs(mtime - Date.now()) < 60_000);
    assert.equal(await modifiedAt(join(dir, "missing")), null);
    assert.equal(await exists(file), true);
    assert.equal(await exists(join(dir, "missing")), false);
    await assert.rejects(readFileText(join(dir, "missing")), { code: "ENOENT" });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("onShutdownSignal registers and unregisters without firing", () => {
  let fired = 0;
  const off = onShutdownSignal(() => fired++);
  off();
  assert.equal(fired, 0);
});

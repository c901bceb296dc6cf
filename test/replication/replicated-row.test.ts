import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeEntry, encodeEntry, idOfKey, keyOf, replicatedRow } from "../../src/replication/replicated-row.ts";

test("backend ids of any text round-trip through KV-safe keys", () => {
  // Long ids too: ASCII ones are decoded without a TextDecoder, by spreading the bytes into arguments, which has a limit.
  for (const id of ["a", "sa-node-1", "ünïcødé/🚀 with spaces.and.dots", "x".repeat(255), "ab", "abc", "abcd", "y".repeat(300_000), `${"z".repeat(5000)}é`]) {
    const key = keyOf(id);
    assert.match(key, /^b\.[A-Za-z0-9_-]+$/);
    assert.equal(idOfKey(key), id);
  }
  assert.equal(idOfKey("p.abc"), null);
  assert.equal(idOfKey("b.ab=c"), null, "not a base64url character");
  assert.equal(idOfKey("b.abé"), null, "not even ASCII");
  assert.equal(idOfKey("b.__8"), null, "bytes that are not UTF-8");
});

test("an entry round-trips; a tombstone has no row; bad values say why", () => {
  const row = replicatedRow({ id: "be1", app: null, region: "eu", country: "DE", wg_ip: "10.0.0.1", port: 9000, healthy: 1, weight: 2, soft_limit: 100, hard_limit: 150, deleted: 0, created_at: 1, updated_at: 2, source: "cli", version: 9, last_heartbeat_ms: 5 });
  assert.equal("version" in row, false);
  assert.equal("last_heartbeat_ms" in row, false);
  const entry = { id: "be1", hlc: "0000000000001000.000000", origin: "pop-a", owner: null, row };
  assert.deepEqual(decodeEntry(keyOf("be1"), encodeEntry(entry)), entry);
  const tomb = { ...entry, row: null };
  assert.deepEqual(decodeEntry(keyOf("be1"), encodeEntry(tomb)), tomb);
  assert.match((decodeEntry(keyOf("be1"), "{") as { problem: string }).problem, /not JSON/);
  assert.match((decodeEntry(keyOf("be1"), JSON.stringify({ v: 2 })) as { problem: string }).problem, /unknown format/);
  assert.match((decodeEntry(keyOf("other"), encodeEntry(entry)) as { problem: string }).problem, /row of "other"/);
});

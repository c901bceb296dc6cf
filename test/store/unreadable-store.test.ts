// A store that cannot be read or written fails the call with a clear StoreError; nothing throws
// out of band, and the file is never "repaired" by overwriting it.
import { test, describe, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { closeSync, openSync, readFileSync, statSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { openLibsqlStore } from "../../src/store/libsql-store.ts";
import { StoreError } from "../../src/store/store-errors.ts";
import { rawConnection, tempDb, type TempDb } from "./store-fixture.ts";

const ROW = { id: "br-1", region: "sa", country: "BR", host: "10.0.0.1", port: 7000 } as const;

/** Deterministic junk (tests must not depend on luck). */
function junk(length: number, seed = 7): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    out[i] = x & 255;
  }
  return out;
}

describe("unreadable store", () => {
  let db: TempDb;
  beforeEach(() => { db = tempDb(); });
  afterEach(() => db.remove());

  test("a file of random bytes is refused at open with the path and the reason, and left as it was", () => {
    const bytes = junk(8192);
    writeFileSync(db.path, bytes);
    assert.throws(() => openLibsqlStore(db.path, { busyTimeoutMs: 100 }), (err: unknown) => {
      assert.ok(err instanceof StoreError);
      assert.match(err.message, /^routing store .*routing\.db: cannot open: file is not a database \(SQLITE_NOTADB\)$/);
      assert.equal(err.code, "SQLITE_NOTADB");
      return true;
    });
    assert.deepEqual(new Uint8Array(readFileSync(db.path)), bytes);
  });

  test("a directory that does not exist is a clear open error", () => {
    assert.throws(() => openLibsqlStore(join(db.dir, "missing", "routing.db")), /^StoreError: routing store .*missing\/routing\.db: cannot open: /);
  });

  test("a file corrupted while open makes readSnapshot reject; the store keeps answering", async () => {
    const store = openLibsqlStore(db.path, { busyTimeoutMs: 100 });
    const other = rawConnection(db.path);
    try {
      await store.upsertBackend(ROW);
      const good = await store.readSnapshot();
      other.get("PRAGMA wal_checkpoint(TRUNCATE)"); // every page now lives in the main file
      other.get("SELECT COUNT(*) AS n FROM backends"); // `other` has read the schema before the damage
      const pageSize = Number(other.get("PRAGMA page_size")?.page_size);
      const size = statSync(db.path).size;
      const fd = openSync(db.path, "r+");
      writeSync(fd, junk(size - pageSize), 0, size - pageSize, pageSize); // keep page 1 (header, schema root)
      closeSync(fd);
      other.exec("PRAGMA user_version = 7"); // a commit: the store must drop its cached pages and re-read

      await assert.rejects(store.readSnapshot(), (err: unknown) => {
        assert.ok(err instanceof StoreError, String(err));
        assert.match(err.message, /^routing store .*: cannot read backends: .*malformed/);
        return true;
      });
      // The caller keeps `good`; asking again is safe and fails the same way.
      await assert.rejects(store.readSnapshot(), StoreError);
      assert.equal(good.snapshot.backends.length, 1);
    } finally {
      other.close();
      await store.close();
    }
  });

  test("while another connection holds the write lock, reads go on and writes time out with a StoreError", async () => {
    const store = openLibsqlStore(db.path, { busyTimeoutMs: 150 });
    const other = rawConnection(db.path, 0);
    try {
      await store.upsertBackend(ROW);
      other.exec("BEGIN IMMEDIATE");
      other.run("UPDATE backends SET weight = 9 WHERE id = 'br-1'");
      const started = Date.now();
      await assert.rejects(store.setWeight("br-1", 2), (err: unknown) => {
        assert.ok(err instanceof StoreError);
        assert.match(err.message, /cannot set weight: database is locked \(SQLITE_BUSY\)/);
        return true;
      });
      assert.ok(Date.now() - started >= 100, "waited for the busy timeout first");
      const { snapshot } = await store.readSnapshot(); // WAL: readers never wait for writers
      assert.equal(snapshot.backends[0]?.weight, 1, "uncommitted change not visible");
      other.exec("COMMIT");
      // The failed write must not leave the store unusable (it did: a statement stuck "in progress").
      assert.equal((await store.readSnapshot()).snapshot.backends[0]?.weight, 9);
      assert.equal(await store.setWeight("br-1", 2), true);
      assert.equal((await store.readSnapshot()).snapshot.backends[0]?.weight, 2);
    } finally {
      other.close();
      await store.close();
    }
  });

});

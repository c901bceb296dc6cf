// readChanges on a libSQL routing.db: the rows logged since a cursor, and null whenever the cursor is
// not a point of this file's log (the route table's use of it: test/routes/route-sync-delta.test.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import { openLibsqlStore } from "../../src/store/libsql-store.ts";
import { rawConnection, tempDb } from "./store-fixture.ts";

const ROW = { app: "game", region: "sa", host: "10.0.0.1", port: 7000 } as const;

test("readChanges names the rows changed since the cursor: routed, removed, skipped, and nothing for a heartbeat", async () => {
  const db = tempDb();
  const store = openLibsqlStore(db.path, { busyTimeoutMs: 2000 });
  const raw = rawConnection(db.path);
  try {
    for (const id of ["a", "b", "c", "d"]) await store.upsertBackend({ id, ...ROW });
    const { cursor } = await store.readSnapshot();
    assert.ok(cursor);
    raw.exec(`UPDATE backends SET id = 'a2' WHERE id = 'a';
      UPDATE backends SET port = 0 WHERE id = 'b';
      UPDATE backends SET last_heartbeat_ms = 5 WHERE id = 'c'`);
    const changes = await store.readChanges(cursor);
    assert.ok(changes);
    assert.deepEqual(changes.backends.map((b) => b.id), ["a2"]);
    assert.deepEqual([...changes.removed].sort(), ["a", "b"]);
    assert.deepEqual(changes.skipped.map((s) => s.id), ["b"]);
    assert.equal(changes.generation, await store.changeMarker());
    assert.deepEqual(await store.readChanges(changes.cursor), { ...changes, backends: [], removed: [], skipped: [], adjusted: [] }, "nothing since");
  } finally {
    raw.close();
    await store.close();
    db.remove();
  }
});

test("readChanges answers null for a cursor of another store, a pruned point or no cursor at all", async () => {
  const one = tempDb(), two = tempDb();
  const a = openLibsqlStore(one.path, { busyTimeoutMs: 2000 });
  const b = openLibsqlStore(two.path, { busyTimeoutMs: 2000 });
  try {
    await a.upsertBackend({ id: "x", ...ROW });
    await b.upsertBackend({ id: "x", ...ROW });
    const { cursor } = await a.readSnapshot();
    assert.ok(cursor);
    assert.equal(await b.readChanges(cursor), null, "same seq, another store_id");
    assert.equal(await a.readChanges("not a cursor"), null);
    await a.upsertBackend({ id: "y", ...ROW });
    const raw = rawConnection(one.path);
    try { raw.exec("DELETE FROM backend_changes WHERE seq = 1"); } finally { raw.close(); }
    assert.equal(await a.readChanges(cursor), null, "the entry at the cursor was pruned");
  } finally {
    await a.close();
    await b.close();
    one.remove();
    two.remove();
  }
});

// The SQL side of replication on real routing.db files: local edits of every kind reach the outbox,
// remote versions merge by LWW, echoes and superseded local changes leave it, orphans expire.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { ReplicaDb } from "../../src/replication/replica-db.ts";
import { openLibsqlStore } from "../../src/store/libsql-store.ts";
import { tempDir } from "../fixtures/routing-db.ts";
import Database from "libsql";

function setup() {
  const dir = tempDir();
  const path = join(dir.dir, "routing.db");
  const db = ReplicaDb.open(path, "pop-a");
  const store = openLibsqlStore(path, { source: "cli" });
  const raw = new Database(path);
  return { path, db, store, raw, async close() { db.close(); await store.close(); raw.close(); dir.remove(); } };
}

test("CLI/API writes, hand edits and hard deletes all land in the outbox once per id, stamped in order", async () => {
  const t = setup();
  try {
    await t.store.upsertBackend({ id: "be1", region: "eu", host: "10.0.0.1", port: 9000 });
    await t.store.setWeight("be1", 5);
    t.raw.exec("INSERT INTO backends (id, app, region, wg_ip, port, healthy, weight, soft_limit, hard_limit) VALUES ('be2', 'x', 'us', '10.0.0.2', 80, 1, 1, 10, 20)");
    assert.equal(t.db.outboxDepth(), 2);
    assert.equal(t.db.stampPending(), 2);
    const items = t.db.pending(10);
    assert.deepEqual(items.map((i) => i.id).sort(), ["be1", "be2"]);
    const be1 = items.find((i) => i.id === "be1")!;
    assert.equal(be1.entry.origin, "pop-a");
    assert.equal(be1.entry.row?.weight, 5);
    assert.equal(be1.revision, 0);
    t.db.published(be1, 7);
    assert.equal(t.db.outboxDepth(), 1);
    // A heartbeat alone is not a routing change.
    t.raw.exec("UPDATE backends SET last_heartbeat_ms = 123 WHERE id = 'be1'");
    assert.equal(t.db.outboxDepth(), 1);
    t.raw.exec("DELETE FROM backends WHERE id = 'be1'");
    t.db.stampPending();
    const tomb = t.db.pending(10).find((i) => i.id === "be1")!;
    assert.equal(tomb.entry.row, null);
    assert.equal(tomb.revision, 7); // the publish expects the key's last revision
  } finally {
    await t.close();
  }
});

test("a change published while a newer one arrived stays in the outbox", async () => {
  const t = setup();
  try {
    await t.store.upsertBackend({ id: "be1", region: "eu", host: "10.0.0.1", port: 9000 });
    t.db.stampPending();
    const [item] = t.db.pending(10);
    await t.store.setWeight("be1", 9); // lands between read and ack
    t.db.published(item!, 3);
    assert.equal(t.db.outboxDepth(), 1);
  } finally {
    await t.close();
  }
});

const row = (id: string, weight: number) => ({ id, app: null, region: "eu", country: null, wg_ip: "10.0.0.9", port: 80, healthy: 1, weight, soft_limit: 100, hard_limit: 150, deleted: 0, created_at: 1, updated_at: 2, source: "cli" });

test("remote versions merge by LWW; the write is not echoed back into the outbox", async () => {
  const t = setup();
  try {
    const r1 = t.db.apply({ id: "be9", hlc: "0000000000001000.000000", origin: "pop-b", owner: null, row: row("be9", 2) }, 1);
    assert.deepEqual(r1, { decision: "apply", conflict: false, changed: true });
    assert.equal(t.db.outboxDepth(), 0);
    assert.equal((await t.store.getBackend("be9"))?.backend?.weight, 2);
    assert.equal(t.db.appliedRevision(), 1);
    // older: kept
    const r2 = t.db.apply({ id: "be9", hlc: "0000000000000900.000000", origin: "pop-c", owner: null, row: row("be9", 3) }, 2);
    assert.equal(r2.decision, "keep");
    assert.equal((await t.store.getBackend("be9"))?.backend?.weight, 2);
    // tombstone, newer: row gone
    t.db.apply({ id: "be9", hlc: "0000000000002000.000000", origin: "pop-b", owner: null, row: null }, 3);
    assert.equal(await t.store.getBackend("be9"), null);
    assert.equal(t.db.outboxDepth(), 0);
    assert.equal(t.db.appliedRevision(), 3);
    // an out-of-order read does not move the resume position
    t.db.apply({ id: "be8", hlc: "0000000000002000.000000", origin: "pop-b", owner: null, row: row("be8", 1) }, 40, false);
    assert.equal(t.db.appliedRevision(), 3);
  } finally {
    await t.close();
  }
});

test("a local change not yet published competes by the time it was made", async () => {
  const t = setup();
  try {
    t.db.apply({ id: "be1", hlc: "0000000000001000.000000", origin: "pop-b", owner: null, row: row("be1", 2) }, 1);
    await t.store.setWeight("be1", 7); // local edit now (wall clock: far later than 1000)
    const older = t.db.apply({ id: "be1", hlc: "0000000000001500.000000", origin: "pop-b", owner: null, row: row("be1", 3) }, 2);
    assert.deepEqual(older, { decision: "keep", conflict: true, changed: false });
    assert.equal((await t.store.getBackend("be1"))?.backend?.weight, 7);
    assert.equal(t.db.outboxDepth(), 1);
    const newer = t.db.apply({ id: "be1", hlc: "9000000000000000.000000", origin: "pop-b", owner: null, row: row("be1", 4) }, 3);
    assert.equal(newer.decision, "apply");
    assert.equal(newer.conflict, true);
    assert.equal((await t.store.getBackend("be1"))?.backend?.weight, 4);
    assert.equal(t.db.outboxDepth(), 0); // the local change lost: not published
  } finally {
    await t.close();
  }
});

test("registered backends carry their owner; orphans of a gone POP are soft-deleted as a local change", async () => {
  const t = setup();
  try {
    await t.store.upsertBackend({ id: "mine", region: "eu", host: "10.0.0.1", port: 9000, lastHeartbeatMs: 5 });
    t.db.stampPending();
    assert.equal(t.db.pending(10)[0]!.entry.owner, "pop-a");
    t.db.apply({ id: "theirs", hlc: "0000000000001000.000000", origin: "pop-b", owner: "pop-b", row: row("theirs", 1) }, 1);
    t.db.apply({ id: "static", hlc: "0000000000001000.000000", origin: "pop-b", owner: null, row: row("static", 1) }, 2);
    assert.deepEqual(t.db.expireOrphans((owner) => owner === "pop-c", 10), []);
    assert.deepEqual(t.db.expireOrphans((owner) => owner === "pop-b", 10), ["theirs"]);
    assert.equal((await t.store.getBackend("theirs"))?.deleted, true);
    t.db.stampPending();
    const item = t.db.pending(10).find((i) => i.id === "theirs")!;
    assert.equal(item.entry.row?.deleted, 1);
    assert.equal(item.entry.owner, "pop-b");
  } finally {
    await t.close();
  }
});

test("a reset bucket gets every known key again with its stamp", async () => {
  const t = setup();
  try {
    t.db.apply({ id: "be1", hlc: "0000000000001000.000000", origin: "pop-b", owner: null, row: row("be1", 2) }, 5);
    t.db.apply({ id: "gone", hlc: "0000000000001000.000000", origin: "pop-b", owner: null, row: null }, 6);
    t.db.resetBucket("new-stream");
    assert.equal(t.db.appliedRevision(), 0);
    assert.equal(t.db.streamIdentity(), "new-stream");
    const items = t.db.pending(10);
    assert.deepEqual(items.map((i) => [i.id, i.entry.hlc, i.entry.origin, i.revision]).sort(), [["be1", "0000000000001000.000000", "pop-b", 0], ["gone", "0000000000001000.000000", "pop-b", 0]]);
  } finally {
    await t.close();
  }
});

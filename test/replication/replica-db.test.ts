// The SQL side of replication on real routing.db files: local edits of every kind reach the outbox,
// remote versions merge by LWW, echoes and superseded local changes leave it, orphans expire.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { FLUSH_CHUNK, ReplicaDb } from "../../src/replication/replica-db.ts";
import { openLibsqlStore } from "../../src/store/libsql-store.ts";
import { tempDir } from "../fixtures/routing-db.ts";
import Database from "libsql";

function setup(popId = "pop-a") {
  const dir = tempDir();
  const path = join(dir.dir, "routing.db");
  const db = ReplicaDb.open(path, popId);
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

test("a remote row is written exactly as the bucket holds it, timestamps too, with the next version, and logged for the route table", async () => {
  const t = setup();
  try {
    const version = () => {
      const r = t.raw.prepare("SELECT version, created_at, updated_at FROM backends WHERE id = 'be7'").get([]) as { version: number; created_at: number | null; updated_at: number | null };
      return { version: r.version, created_at: r.created_at, updated_at: r.updated_at };
    };
    const logged = () => (t.raw.prepare("SELECT COUNT(*) AS n FROM backend_changes WHERE id = 'be7'").get([]) as { n: number }).n;
    t.db.apply({ id: "be7", hlc: "0000000000001000.000000", origin: "pop-b", owner: null, row: { ...row("be7", 2), created_at: null, updated_at: null } }, 1);
    assert.deepEqual(version(), { version: 1, created_at: null, updated_at: null }, "NULL timestamps stay NULL, as at the origin");
    assert.equal(logged(), 1);
    // The same version again (a re-read after a reset) changes nothing: no new version, no log entry.
    t.db.apply({ id: "be7", hlc: "0000000000001000.000000", origin: "pop-b", owner: null, row: { ...row("be7", 2), created_at: null, updated_at: null } }, 2);
    assert.equal(version().version, 1);
    assert.equal(logged(), 1);
    // A newer version with the same updated_at keeps it (no local time laid over it), and is version 2.
    t.db.apply({ id: "be7", hlc: "0000000000002000.000000", origin: "pop-c", owner: null, row: { ...row("be7", 5), created_at: null, updated_at: null } }, 3);
    assert.deepEqual(version(), { version: 2, created_at: null, updated_at: null });
    assert.equal(logged(), 2);
    assert.equal(t.db.outboxDepth(), 0, "replication's own writes are not queued as local changes");
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

test("a watched batch is one transaction: conflicting versions of one key end with the LWW winner, the revision moves once", async () => {
  const t = setup();
  try {
    const hlc = (ms: number) => `${String(ms).padStart(16, "0")}.000000`;
    const r = t.db.applyBatch([
      { kind: "entry", entry: { id: "k", hlc: hlc(5000), origin: "pop-b", owner: null, row: row("k", 5) }, revision: 10 },
      { kind: "entry", entry: { id: "other", hlc: hlc(1000), origin: "pop-c", owner: null, row: row("other", 1) }, revision: 11 },
      // older than the one already applied: kept out, whatever its revision
      { kind: "entry", entry: { id: "k", hlc: hlc(3000), origin: "pop-c", owner: null, row: row("k", 3) }, revision: 12 },
      // same stamp, higher origin: wins the tie
      { kind: "entry", entry: { id: "k", hlc: hlc(5000), origin: "pop-z", owner: null, row: row("k", 9) }, revision: 13 },
      { kind: "entry", entry: { id: "k", hlc: hlc(5000), origin: "pop-c", owner: null, row: row("k", 4) }, revision: 14 },
      { kind: "skip", revision: 15 },
    ]);
    assert.deepEqual(r, { applied: 5, conflicts: 2, changed: true });
    assert.equal((await t.store.getBackend("k"))?.backend?.weight, 9);
    assert.equal((await t.store.getBackend("other"))?.backend?.weight, 1);
    assert.equal(t.db.appliedRevision(), 15);
    assert.equal(t.db.outboxDepth(), 0, "applied rows are not echoed into the outbox");
    // the same versions in the other order end the same
    const u = setup();
    try {
      u.db.applyBatch([14, 13, 12, 10].map((rev) => {
        const [ms, origin, w] = rev === 10 ? [5000, "pop-b", 5] : rev === 12 ? [3000, "pop-c", 3] : rev === 13 ? [5000, "pop-z", 9] : [5000, "pop-c", 4];
        return { kind: "entry" as const, entry: { id: "k", hlc: hlc(ms as number), origin: origin as string, owner: null, row: row("k", w as number) }, revision: rev };
      }));
      assert.equal((await u.store.getBackend("k"))?.backend?.weight, 9);
    } finally {
      await u.close();
    }
  } finally {
    await t.close();
  }
});

test("a batch that cannot commit applies nothing and leaves the revision where it was", async () => {
  const t = setup();
  try {
    t.db.applyBatch([{ kind: "entry", entry: { id: "a", hlc: "0000000000001000.000000", origin: "pop-b", owner: null, row: row("a", 1) }, revision: 1 }]);
    t.raw.exec("PRAGMA busy_timeout = 0");
    t.raw.exec("BEGIN IMMEDIATE"); // another writer holds the file
    assert.throws(() => t.db.applyBatch([
      { kind: "entry", entry: { id: "a", hlc: "0000000000002000.000000", origin: "pop-b", owner: null, row: row("a", 2) }, revision: 2 },
      { kind: "entry", entry: { id: "b", hlc: "0000000000002000.000000", origin: "pop-b", owner: null, row: row("b", 2) }, revision: 3 },
    ]));
    t.raw.exec("ROLLBACK");
    assert.equal(t.db.appliedRevision(), 1);
    assert.equal((await t.store.getBackend("a"))?.backend?.weight, 1);
    assert.equal(await t.store.getBackend("b"), null);
  } finally {
    await t.close();
  }
});

test("a DEL/PURGE marker deletes the backend and forgets its stamp; a pending local change survives it", async () => {
  const t = setup();
  try {
    t.db.applyBatch([
      { kind: "entry", entry: { id: "gone", hlc: "0000000000001000.000000", origin: "pop-b", owner: null, row: row("gone", 1) }, revision: 1 },
      { kind: "entry", entry: { id: "kept", hlc: "0000000000001000.000000", origin: "pop-b", owner: null, row: row("kept", 1) }, revision: 2 },
    ]);
    await t.store.setWeight("kept", 8); // local edit, not yet published
    const r = t.db.applyBatch([{ kind: "removed", id: "gone", revision: 3 }, { kind: "removed", id: "kept", revision: 4 }]);
    assert.equal(r.changed, true);
    assert.equal(await t.store.getBackend("gone"), null);
    assert.equal((t.raw.prepare("SELECT COUNT(*) AS n FROM replication_keys WHERE id = 'gone'").get([]) as { n: number }).n, 0);
    assert.equal((await t.store.getBackend("kept"))?.backend?.weight, 8);
    t.db.stampPending();
    const item = t.db.pending(10).find((i) => i.id === "kept")!;
    assert.equal(item.revision, 4, "published against the marker's revision");
    assert.equal(t.db.outboxDepth(), 1);
    assert.equal(t.db.appliedRevision(), 4);
  } finally {
    await t.close();
  }
});

test("after an absence past purged tombstones, keys gone from the bucket are deleted here (not local changes, not newer keys)", async () => {
  const t = setup();
  try {
    t.db.applyBatch(["a", "b", "c", "d"].map((id, i) => ({ kind: "entry" as const, entry: { id, hlc: "0000000000001000.000000", origin: "pop-b", owner: null, row: row(id, 1) }, revision: i + 1 })));
    await t.store.setWeight("c", 5); // waiting in the outbox
    // "d" was published here after the resume point (its revision is above it)
    t.raw.exec("UPDATE replication_keys SET revision = 9 WHERE id = 'd'");
    const removed = t.db.forgetAbsent((id) => id === "a", 4);
    assert.deepEqual(removed, ["b"]);
    assert.equal(await t.store.getBackend("b"), null);
    assert.ok(await t.store.getBackend("c"), "a local change waiting in the outbox stays");
    assert.ok(await t.store.getBackend("d"), "a key seen after the resume point stays");
    assert.equal(t.db.outboxDepth(), 1, "the delete is not published: the cluster already deleted it");
    t.db.setReconciledThrough(7);
    assert.equal(t.db.reconciledThrough(), 7);
  } finally {
    await t.close();
  }
});

test("applied counts changes from elsewhere only: this POP's own echoes and no-op removal markers are not counted", async () => {
  const t = setup();
  try {
    const hlc = (ms: number) => `${String(ms).padStart(16, "0")}.000000`;
    await t.store.upsertBackend({ id: "mine", region: "eu", host: "10.0.0.1", port: 9000 });
    t.db.stampPending();
    const [own] = t.db.pending(10);
    t.db.published(own!, 1);
    const r = t.db.applyBatch([
      { kind: "entry", entry: own!.entry, revision: 1 }, // the watch hands this POP's publish back
      { kind: "entry", entry: { id: "theirs", hlc: hlc(1000), origin: "pop-b", owner: null, row: row("theirs", 2) }, revision: 2 },
      { kind: "entry", entry: { id: "gone", hlc: hlc(1000), origin: "pop-b", owner: null, row: null }, revision: 3 },
      { kind: "removed", id: "gone", revision: 4 }, // the purged tombstone's marker: nothing left to remove
      { kind: "removed", id: "theirs", revision: 5 }, // deleted by hand in the bucket: the row goes
    ]);
    assert.deepEqual(r, { applied: 3, conflicts: 0, changed: true });
    assert.equal((await t.store.getBackend("theirs"))?.backend, undefined);
    assert.ok((await t.store.getBackend("mine"))?.backend);
  } finally {
    await t.close();
  }
});

test("local changes are stamped and read for publishing while another connection holds the write lock; stamps and acks are recorded later", async () => {
  const t = setup();
  try {
    await t.store.upsertBackend({ id: "be1", region: "eu", host: "10.0.0.1", port: 9000 });
    await t.store.upsertBackend({ id: "be2", region: "eu", host: "10.0.0.2", port: 9000 });
    t.raw.exec("BEGIN IMMEDIATE"); // a burst of commits elsewhere: the write lock is taken
    const items = t.db.pending(10);
    assert.deepEqual(items.map((i) => i.id), ["be1", "be2"]);
    assert.ok(items[0]!.entry.hlc < items[1]!.entry.hlc, "stamped in the order of the changes");
    assert.deepEqual(t.db.pending(10).map((i) => i.entry.hlc), items.map((i) => i.entry.hlc), "a publish tried again carries the same stamp");
    t.db.acknowledge(items[0]!, 5);
    assert.equal(t.db.record(), false, "busy: kept in memory, without waiting");
    assert.deepEqual(t.db.pending(10).map((i) => i.id), ["be2"], "acknowledged: not published again");
    t.raw.exec("ROLLBACK");
    assert.equal(t.db.record(), true);
    assert.equal(t.db.unrecorded, 0);
    assert.equal(t.db.outboxDepth(), 1);
    const keys = t.raw.prepare("SELECT id, hlc, revision FROM replication_keys ORDER BY id").all([]) as { id: string; hlc: string; revision: number }[];
    assert.deepEqual(keys.map((k) => [k.id, k.hlc, k.revision]), [["be1", items[0]!.entry.hlc, 5], ["be2", items[1]!.entry.hlc, 0]]);
    assert.deepEqual(t.db.pending(10).map((i) => [i.id, i.entry.hlc]), [["be2", items[1]!.entry.hlc]], "the stamp given in memory is the recorded one");
  } finally {
    await t.close();
  }
});

test("a version arriving between publish and record is merged against the stamp that was published", async () => {
  const t = setup();
  try {
    await t.store.upsertBackend({ id: "be1", region: "eu", host: "10.0.0.1", port: 9000, weight: 7 });
    const [item] = t.db.pending(10);
    // published, not yet acknowledged: an older version from pop-b and this POP's own echo arrive
    const r = t.db.applyBatch([
      { kind: "entry", entry: { id: "be1", hlc: "0000000000001000.000000", origin: "pop-b", owner: null, row: row("be1", 2) }, revision: 3 },
      { kind: "entry", entry: item!.entry, revision: 4 },
    ]);
    assert.deepEqual(r, { applied: 1, conflicts: 1, changed: false });
    assert.equal((await t.store.getBackend("be1"))?.backend?.weight, 7);
    t.db.acknowledge(item!, 4);
    assert.equal(t.db.record(), true);
    assert.equal(t.db.outboxDepth(), 0, "the ack matches the outbox row (id, n, stamp): the stamp reached it first");
    // a newer version from elsewhere still wins
    t.db.applyBatch([{ kind: "entry", entry: { id: "be1", hlc: "9000000000000000.000000", origin: "pop-b", owner: null, row: row("be1", 4) }, revision: 5 }]);
    assert.equal((await t.store.getBackend("be1"))?.backend?.weight, 4);
    assert.equal(t.db.outboxDepth(), 0);
  } finally {
    await t.close();
  }
});

test("a crash between publish and record: the restarted POP publishes again, and its newest rows win, also over its own unrecorded version", async () => {
  const t = setup();
  try {
    await t.store.upsertBackend({ id: "same", region: "eu", host: "10.0.0.1", port: 9000, weight: 7 });
    await t.store.upsertBackend({ id: "newer", region: "eu", host: "10.0.0.2", port: 9000, weight: 7 });
    const before = t.db.pending(10);
    for (const item of before) t.db.acknowledge(item, item.id === "same" ? 1 : 2); // in the bucket at revisions 1, 2
    await t.store.setWeight("newer", 8); // a later local edit, not yet published
    t.db.close(); // killed: nothing recorded
    const db = ReplicaDb.open(t.path, "pop-a");
    try {
      const again = db.pending(10);
      assert.deepEqual(again.map((i) => [i.id, i.revision]).sort(), [["newer", 0], ["same", 0]], "still in the outbox; the revisions were not recorded");
      // The publishes expecting revision 0 are refused; what the bucket holds is merged. This POP's own
      // versions there may carry later stamps than the new ones (here: far later, as after a clock jump).
      const own = (id: string, weight: number) => ({ id, hlc: "9000000000000000.000000", origin: "pop-a", owner: null, row: { ...before.find((i) => i.id === id)!.entry.row!, weight } });
      const same = db.apply(own("same", 7), 1, false);
      assert.equal(same.decision, "apply", "the same values: adopted");
      const newer = db.apply(own("newer", 7), 2, false);
      assert.deepEqual(newer, { decision: "keep", conflict: false, changed: false }, "older values of its own: the pending edit stays");
      assert.equal((await t.store.getBackend("newer"))?.backend?.weight, 8);
      const [next] = db.pending(10);
      assert.equal(next!.id, "newer");
      assert.equal(next!.entry.row?.weight, 8);
      assert.equal(next!.revision, 2, "published over the version it found");
      assert.ok(next!.entry.hlc > "9000000000000000.000000", "stamped after it, so every POP takes it");
      assert.equal(db.outboxDepth(), 1);
    } finally {
      db.close();
    }
  } finally {
    t.raw.close();
    await t.store.close();
  }
});

test("two edits of one key in the same millisecond, killed between: the restart never gives the lost publish's stamp again, and every POP ends with the newest values", async () => {
  const t = setup();
  const b = setup("pop-b");
  try {
    await t.store.upsertBackend({ id: "k", region: "eu", host: "10.0.0.1", port: 9000, weight: 7 });
    const [first] = t.db.pending(10); // stamped in memory from the change time
    t.db.acknowledge(first!, 1); // in the bucket at revision 1, not recorded; pop-b applied it
    b.db.applyBatch([{ kind: "entry", entry: first!.entry, revision: 1 }]);
    const atMs = (t.raw.prepare("SELECT at_ms FROM replication_outbox WHERE id = 'k'").get([]) as { at_ms: number }).at_ms;
    await t.store.setWeight("k", 8);
    // ... in the same millisecond as the first edit (its change time is the one the stamp derives from)
    t.raw.prepare("UPDATE replication_outbox SET at_ms = ? WHERE id = 'k'").run([atMs]);
    t.db.close(); // killed: nothing recorded
    const db = ReplicaDb.open(t.path, "pop-a");
    try {
      const [second] = db.pending(10);
      assert.equal(second!.entry.row?.weight, 8);
      assert.ok(second!.entry.hlc > first!.entry.hlc, `a stamp after the lost one (${second!.entry.hlc} after ${first!.entry.hlc})`);
      // The watcher resumes from the recorded revision (0) and hands back the lost publish.
      const r = db.applyBatch([{ kind: "entry", entry: first!.entry, revision: 1 }]);
      assert.equal(r.changed, false, "the pending edit stays");
      const [next] = db.pending(10);
      assert.deepEqual([next!.entry.row?.weight, next!.revision], [8, 1], "published over the version it found");
      db.acknowledge(next!, 2);
      b.db.applyBatch([{ kind: "entry", entry: next!.entry, revision: 2 }]);
      assert.equal((await b.store.getBackend("k"))?.backend?.weight, 8, "the other POP takes the newest values");
      db.applyBatch([{ kind: "entry", entry: next!.entry, revision: 2 }]); // its echo
      assert.equal(db.record(), true);
      assert.equal(db.outboxDepth(), 0);
    } finally {
      db.close();
    }
  } finally {
    t.raw.close();
    await t.store.close();
    await b.close();
  }
});

test("a version of this POP's own with the stamp of a pending change but other values is merged, not taken for its echo", async () => {
  const t = setup();
  try {
    await t.store.upsertBackend({ id: "k", region: "eu", host: "10.0.0.1", port: 9000, weight: 7 });
    const [item] = t.db.pending(10); // stamped in memory, not published yet
    // The same stamp and origin, other values (a version published before a crash, with the wall clock
    // set back across the restart): not the echo of this publish.
    const lost = { ...item!.entry, row: { ...item!.entry.row!, weight: 3 } };
    t.db.applyBatch([{ kind: "entry", entry: lost, revision: 5 }]);
    assert.equal((await t.store.getBackend("k"))?.backend?.weight, 7);
    const [next] = t.db.pending(10);
    assert.equal(next!.revision, 5);
    assert.ok(next!.entry.hlc > item!.entry.hlc, "stamped after the version found, so every POP takes it");
    // Its real echo (same stamp, same values) is recognised: the revision only.
    t.db.acknowledge(next!, 6);
    assert.deepEqual(t.db.applyBatch([{ kind: "entry", entry: next!.entry, revision: 6 }]), { applied: 0, conflicts: 0, changed: false });
    t.db.record(); // the ack reaches routing.db with the next write
    assert.equal(t.db.outboxDepth(), 0);
  } finally {
    await t.close();
  }
});

test("the clock is persisted with every write and a reopened routing.db starts after it", async () => {
  const t = setup();
  try {
    // A version from a POP whose clock is ahead; its key is then removed from the bucket.
    t.db.applyBatch([{ kind: "entry", entry: { id: "ahead", hlc: "9000000000000000.000007", origin: "pop-b", owner: null, row: row("ahead", 1) }, revision: 1 }]);
    t.db.applyBatch([{ kind: "removed", id: "ahead", revision: 2 }]);
    t.db.close();
    const db = ReplicaDb.open(t.path, "pop-a");
    try {
      assert.deepEqual(db.clock, { wallMs: 9000000000000001, logical: 0 });
    } finally {
      db.close();
    }
  } finally {
    t.raw.close();
    await t.store.close();
  }
});

test("every change read counts, also a second edit of a backend already waiting (the route table needs it)", async () => {
  const t = setup();
  try {
    assert.equal(t.db.noticeChanges(), 0);
    await t.store.upsertBackend({ id: "k", region: "eu", host: "10.0.0.1", port: 9000 });
    assert.equal(t.db.noticeChanges(), 1);
    await t.store.setWeight("k", 5);
    assert.equal(t.db.noticeChanges(), 1, "k was already waiting: still a change");
    assert.equal(t.db.noticeChanges(), 0);
  } finally {
    await t.close();
  }
});

test("versions fetched after a refused publish merge without waiting for the write lock (busy: kept by the caller)", async () => {
  const t = setup();
  try {
    await t.store.upsertBackend({ id: "k", region: "eu", host: "10.0.0.1", port: 9000, weight: 7 });
    t.raw.exec("PRAGMA busy_timeout = 0");
    t.raw.exec("BEGIN IMMEDIATE");
    const theirs = { entry: { id: "k", hlc: "9000000000000000.000000", origin: "pop-b", owner: null, row: row("k", 4) }, revision: 3 };
    assert.throws(() => t.db.merge([theirs]), /locked|busy/i);
    t.raw.exec("ROLLBACK");
    assert.deepEqual(t.db.merge([theirs]), { applied: 1, conflicts: 1, changed: true });
    assert.equal((await t.store.getBackend("k"))?.backend?.weight, 4);
    assert.equal(t.db.appliedRevision(), 0, "read out of order: the watch position stays");
  } finally {
    await t.close();
  }
});

test("a backlog left while another connection held the write lock is written a chunk of whole keys per transaction; a key applied is written first; nothing is lost", async () => {
  const t = setup();
  try {
    const total = 2 * FLUSH_CHUNK + 500;
    const insert = t.raw.prepare("INSERT INTO backends (id, app, region, wg_ip, port, healthy, weight, soft_limit, hard_limit) VALUES (?, 'x', 'eu', '10.0.0.1', 80, 1, 1, 10, 20)");
    t.raw.exec("BEGIN");
    for (let i = 0; i < total; i++) insert.run([`be${String(i).padStart(5, "0")}`]);
    t.raw.exec("COMMIT");
    t.raw.exec("BEGIN IMMEDIATE"); // another connection keeps the write lock
    const items = t.db.pending(total);
    assert.equal(items.length, total);
    items.forEach((item, i) => t.db.acknowledge(item, i + 1));
    assert.equal(t.db.unrecorded, 3 * total, "a stamp, an ack and a revision per key, in memory");
    assert.equal(t.db.record(), false);
    t.raw.exec("ROLLBACK");
    // The first transaction to get the lock applies an older version of the newest key (outside the
    // first chunk): that key's stamp and ack are written before the merge, so it sees what was published.
    const last = items[total - 1]!;
    const older = { id: last.id, hlc: "0000000000001000.000000", origin: "pop-b", owner: null, row: row(last.id, 3) };
    t.db.applyBatch([{ kind: "entry", entry: older, revision: total + 1 }]);
    const key = t.raw.prepare("SELECT hlc, revision FROM replication_keys WHERE id = ?").get([last.id]) as { hlc: string; revision: number };
    assert.deepEqual([key.hlc, key.revision], [last.entry.hlc, total + 1], "merged against the published stamp, not a new one");
    assert.equal(t.raw.prepare("SELECT 1 AS x FROM replication_outbox WHERE id = ?").get([last.id]), undefined, "its ack took it out of the outbox");
    assert.equal(t.db.unrecorded, 3 * (total - FLUSH_CHUNK - 1), "the applied key and one chunk of others written, the rest left in memory");
    // Each record() writes at most one chunk of whole keys (stamp, ack and revision together).
    const outbox = t.raw.prepare("SELECT id, hlc FROM replication_outbox");
    let records = 0;
    while (t.db.unrecorded > 0) {
      const before = t.db.unrecorded;
      assert.equal(t.db.record(), true);
      records++;
      assert.ok(before - t.db.unrecorded <= 3 * FLUSH_CHUNK, "one chunk per transaction");
      const left = new Set((outbox.all([]) as { id: string; hlc: string | null }[]).map((r) => { assert.equal(r.hlc, null, "a key is written whole: stamped keys are acked too"); return r.id; }));
      assert.equal(left.size * 3, t.db.unrecorded, "what is still in memory is exactly what is still in the outbox");
    }
    assert.equal(records, Math.ceil((total - FLUSH_CHUNK - 1) / FLUSH_CHUNK));
    assert.equal(t.db.outboxDepth(), 0, "every ack recorded");
    const keys = t.raw.prepare("SELECT id, hlc, revision FROM replication_keys ORDER BY id").all([]) as { id: string; hlc: string; revision: number }[];
    assert.deepEqual(keys.map((k) => [k.id, k.hlc, k.revision]), items.map((item, i) => [item.id, item.entry.hlc, i === total - 1 ? total + 1 : i + 1]), "every stamp and revision recorded");
    assert.deepEqual(t.db.pending(10), []);
  } finally {
    await t.close();
  }
});

test("this POP's own publishes coming back need no write lock, recorded or not; the watch position is kept and written later, and survives a reopen", async () => {
  const t = setup();
  try {
    await t.store.upsertBackend({ id: "a", region: "eu", host: "10.0.0.1", port: 9000 });
    await t.store.upsertBackend({ id: "b", region: "eu", host: "10.0.0.2", port: 9000 });
    const [a, b] = t.db.pending(10);
    t.db.acknowledge(a!, 1);
    t.db.acknowledge(b!, 2);
    assert.equal(t.db.record(), true); // a's and b's stamps and acks are in routing.db now
    await t.store.upsertBackend({ id: "c", region: "eu", host: "10.0.0.3", port: 9000 });
    const [c] = t.db.pending(10);
    t.db.acknowledge(c!, 3); // in memory only
    t.raw.exec("BEGIN IMMEDIATE"); // another connection holds the write lock
    const echoes = [a!, b!, c!].map((item, i) => ({ kind: "entry" as const, entry: item.entry, revision: i + 1 }));
    assert.deepEqual(t.db.applyBatch(echoes, 0), { applied: 0, conflicts: 0, changed: false }, "no write needed, so not refused");
    assert.equal(t.db.appliedRevision(), 3);
    // A version from elsewhere does need the lock: refused, nothing applied, the position unchanged.
    const theirs = { id: "z", hlc: "0000001000000000.000000", origin: "pop-b", owner: null, row: row("z", 1) };
    assert.throws(() => t.db.applyBatch([{ kind: "entry", entry: theirs, revision: 4 }], 0), /busy|locked/i);
    assert.equal(t.db.appliedRevision(), 3);
    t.raw.exec("ROLLBACK");
    assert.equal(t.db.record(), true);
    assert.equal(t.db.outboxDepth(), 0);
    const revisions = t.raw.prepare("SELECT id, revision FROM replication_keys ORDER BY id").all([]) as { id: string; revision: number }[];
    assert.deepEqual(revisions.map((r) => [r.id, r.revision]), [["a", 1], ["b", 2], ["c", 3]]);
    t.db.close();
    const reopened = ReplicaDb.open(t.path, "pop-a");
    try {
      assert.equal(reopened.appliedRevision(), 3, "written by record()");
    } finally {
      reopened.close();
    }
  } finally {
    await t.store.close();
    t.raw.close();
  }
});

test("an acknowledged change leaves the publish queue, unless the backend changed again since it was read", async () => {
  const t = setup();
  try {
    await t.store.upsertBackend({ id: "a", region: "eu", host: "10.0.0.1", port: 9000 });
    await t.store.upsertBackend({ id: "b", region: "eu", host: "10.0.0.2", port: 9000 });
    const [a, b] = t.db.pending(10);
    await t.store.setWeight("b", 4); // b changes while its first version is being published
    t.db.noticeChanges();
    t.db.acknowledge(a!, 1);
    t.db.acknowledge(b!, 2);
    assert.equal(t.db.hasUnpublished, true);
    const next = t.db.pending(10);
    assert.deepEqual(next.map((i) => [i.id, i.entry.row?.weight, i.revision]), [["b", 4, 2]], "b's second version, expecting the first one's revision");
    t.db.acknowledge(next[0]!, 3);
    assert.equal(t.db.hasUnpublished, false);
    assert.deepEqual(t.db.pending(10), []);
  } finally {
    await t.close();
  }
});

test("an echo applied in a batch with versions from elsewhere keeps its revision, written with that transaction", async () => {
  const t = setup();
  try {
    await t.store.upsertBackend({ id: "mine", region: "eu", host: "10.0.0.1", port: 9000 });
    const [own] = t.db.pending(10); // stamped in memory; its ack has not come yet
    const theirs = { id: "z", hlc: "0000001000000000.000000", origin: "pop-b", owner: null, row: row("z", 1) };
    t.db.applyBatch([{ kind: "entry", entry: own!.entry, revision: 7 }, { kind: "entry", entry: theirs, revision: 8 }]);
    const stored = t.raw.prepare("SELECT revision FROM replication_keys WHERE id = 'mine'").get([]) as { revision: number };
    assert.equal(stored.revision, 7, "a later publish of mine expects revision 7");
    assert.equal(t.db.appliedRevision(), 8);
  } finally {
    await t.close();
  }
});

test("a key's recorded revision follows this POP's own publishes forward only, and to 0 after a purge", async () => {
  const t = setup();
  try {
    const recorded = () => Number((t.raw.prepare("SELECT revision FROM replication_keys WHERE id = 'be1'").get([]) as { revision: number }).revision);
    await t.store.upsertBackend({ id: "be1", region: "eu", host: "10.0.0.1", port: 9000 });
    const [first] = t.db.pending(10);
    t.db.published(first!, 5);
    assert.equal(recorded(), 5);
    // A second change whose ack carries an older revision (answers out of order): written with its
    // stamp, the revision stays.
    await t.store.setWeight("be1", 4);
    t.db.noticeChanges();
    const [second] = t.db.pending(10);
    t.db.published(second!, 3);
    assert.equal(recorded(), 5, "an older revision written with a stamp");
    // A revision learnt without a stamp (a refused publish's fetch): forward only too, but 0 (the key
    // was purged: the next publish creates it) always.
    t.db.setKeyRevision("be1", 4);
    assert.equal(t.db.record(1000), true);
    assert.equal(recorded(), 5, "an older revision written alone");
    t.db.setKeyRevision("be1", 0);
    assert.equal(t.db.record(1000), true);
    assert.equal(recorded(), 0, "a purge");
  } finally {
    await t.close();
  }
});

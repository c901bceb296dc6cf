// The tombstone sweep with fake time over an in-memory bucket (revisions, markers, the purged-through
// watermark) and a real routing.db: tombstones are kept for the TTL, then purged with a revision check;
// markers follow one TTL later; the watermark is raised before anything leaves the bucket.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { ReplicaDb } from "../../src/replication/replica-db.ts";
import { keyOf } from "../../src/replication/replicated-row.ts";
import { sweepIntervalMs, sweepTombstones, type SweepBucket } from "../../src/replication/tombstone-sweep.ts";
import { tempDir } from "../fixtures/routing-db.ts";
import Database from "libsql";

const TTL = 60_000;
const hlc = (ms: number) => `${String(ms).padStart(16, "0")}.000000`;
const row = (id: string) => ({ id, app: null, region: "eu", country: null, wg_ip: "10.0.0.9", port: 80, healthy: 1, weight: 1, soft_limit: 10, hard_limit: 20, deleted: 0, created_at: 1, updated_at: 2, source: "cli" });

/** One value per key (history 1), like the KV: `op` PUT/PURGE, created at the fake time. */
class FakeBucket implements SweepBucket {
  seq = 0;
  readonly keys = new Map<string, { revision: number; op: "PUT" | "PURGE"; createdMs: number }>();
  watermark = 0;
  readonly log: string[] = [];
  readonly clock: { now: number };
  constructor(clock: { now: number }) {
    this.clock = clock;
  }
  put(key: string): number {
    this.keys.set(key, { revision: ++this.seq, op: "PUT", createdMs: this.clock.now });
    return this.seq;
  }
  async purge(key: string, revision: number) {
    if (this.keys.get(key)?.revision !== revision) return false;
    this.log.push(`purge ${key}@${revision} (watermark ${this.watermark})`);
    this.keys.set(key, { revision: ++this.seq, op: "PURGE", createdMs: this.clock.now });
    return true;
  }
  async *markers() {
    for (const [key, v] of this.keys) if (v.op === "PURGE") yield { key, revision: v.revision, createdMs: v.createdMs };
  }
  async removeMarker(key: string, revision: number) {
    const v = this.keys.get(key);
    if (v !== undefined && v.revision <= revision) {
      this.log.push(`remove ${key}@${revision} (watermark ${this.watermark})`);
      this.keys.delete(key);
    }
  }
  async purgedThrough() { return this.watermark; }
  async raisePurgedThrough(revision: number) { this.watermark = Math.max(this.watermark, revision); }
}

function setup() {
  const dir = tempDir();
  const clock = { now: 1_000_000 };
  const path = join(dir.dir, "routing.db");
  const db = ReplicaDb.open(path, "pop-a");
  const bucket = new FakeBucket(clock);
  /** A change of `id` seen in the bucket (applied here, as the watcher would). */
  const seen = (id: string, tombstone: boolean) => {
    const revision = bucket.put(keyOf(id));
    db.applyBatch([{ kind: "entry", entry: { id, hlc: hlc(clock.now), origin: "pop-b", owner: null, row: tombstone ? null : row(id) }, revision }]);
    return revision;
  };
  return { clock, db, bucket, seen, path, close() { db.close(); dir.remove(); } };
}

test("a tombstone stays for the TTL, is purged after it (watermark first), and its marker one TTL later", async () => {
  const t = setup();
  try {
    t.seen("live", false);
    const gone = t.seen("gone", true);
    t.clock.now += TTL - 1;
    assert.deepEqual(await sweepTombstones(t.db, t.bucket, TTL, t.clock.now), { purged: 0, markersRemoved: 0 });
    assert.equal(t.bucket.keys.get(keyOf("gone"))?.op, "PUT", "kept for the whole TTL");
    t.clock.now += 2;
    assert.deepEqual(await sweepTombstones(t.db, t.bucket, TTL, t.clock.now), { purged: 1, markersRemoved: 0 });
    const marker = t.bucket.keys.get(keyOf("gone"))!;
    assert.equal(marker.op, "PURGE");
    assert.equal(t.bucket.keys.get(keyOf("live"))?.op, "PUT");
    assert.deepEqual(t.bucket.log, [`purge ${keyOf("gone")}@${gone} (watermark ${gone})`]);
    // the watcher delivers the marker: the key forgets its stamp, nothing is purged twice
    t.db.applyBatch([{ kind: "removed", id: "gone", revision: marker.revision }]);
    assert.deepEqual(t.db.expiredTombstones(t.clock.now, 10), []);
    t.clock.now += TTL - 1;
    assert.deepEqual(await sweepTombstones(t.db, t.bucket, TTL, t.clock.now), { purged: 0, markersRemoved: 0 });
    t.clock.now += 2;
    assert.deepEqual(await sweepTombstones(t.db, t.bucket, TTL, t.clock.now), { purged: 0, markersRemoved: 1 });
    assert.equal(t.bucket.keys.has(keyOf("gone")), false);
    assert.equal(t.bucket.watermark, marker.revision, "raised to the marker before it was removed");
    assert.match(t.bucket.log[1]!, new RegExp(`remove .*@${marker.revision} \\(watermark ${marker.revision}\\)`));
  } finally {
    t.close();
  }
});

test("a key written again since its tombstone is not purged; a tombstone with a local change waiting is not either", async () => {
  const t = setup();
  try {
    t.seen("again", true);
    t.seen("edited", true);
    t.bucket.put(keyOf("again")); // re-created elsewhere, not yet seen here: the purge finds another revision
    const raw = new Database(t.path);
    raw.exec("INSERT INTO backends (id, region, wg_ip, port, healthy, weight, soft_limit, hard_limit) VALUES ('edited', 'eu', '10.0.0.1', 80, 1, 1, 10, 20)");
    raw.close();
    t.clock.now += TTL + 1;
    assert.deepEqual(await sweepTombstones(t.db, t.bucket, TTL, t.clock.now), { purged: 0, markersRemoved: 0 });
    assert.equal(t.bucket.keys.get(keyOf("again"))?.op, "PUT");
    assert.equal(t.bucket.keys.get(keyOf("edited"))?.op, "PUT");
  } finally {
    t.close();
  }
});

test("the sweep looks an eighth of the TTL apart, between 1 s and 1 h", () => {
  assert.equal(sweepIntervalMs(2_000), 1_000);
  assert.equal(sweepIntervalMs(80_000), 10_000);
  assert.equal(sweepIntervalMs(7 * 86_400_000), 3_600_000);
});

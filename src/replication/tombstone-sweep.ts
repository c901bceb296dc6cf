// Tombstones do not stay in the bucket forever. A deleted backend is a tombstone (a value with no row)
// for EDGEPROXY_REPLICATION_TOMBSTONE_TTL_SECS, long enough for a POP that was away to learn of it;
// then the sweeping POP (the live one with the lowest id, like orphan expiry) purges it:
//
//   b.<id> @S  tombstone ──(older than the TTL; kv.purge expecting revision S)──► b.<id> @P  PURGE marker
//   b.<id> @P  marker    ──(older than the TTL; stream purge of that subject below P+1)──► nothing
//
// Both steps check the revision, so a backend re-created under the same id in between is never touched.
// Before anything leaves the bucket, `purged through` (a key of the presence bucket) is raised to its
// revision: a POP whose last applied revision is below it may have missed a delete, and re-reads the
// bucket's keys when its watcher starts (replicator.ts #reconcile, ReplicaDb.forgetAbsent). Watching
// POPs see the marker and forget the key (ReplicaDb applyBatch, kind "removed").
import type { ReplicaDb } from "./replica-db.ts";
import { keyOf } from "./replicated-row.ts";

/** What the sweep needs of the bucket (NATS in replicator.ts, an in-memory fake in the tests). */
export interface SweepBucket {
  /** Purges `key` if its last revision is still `revision` (a marker replaces it); false when it moved on. */
  purge(key: string, revision: number): Promise<boolean>;
  /** The DEL/PURGE markers in the bucket. */
  markers(): AsyncIterable<{ readonly key: string; readonly revision: number; readonly createdMs: number }>;
  /** Removes the marker at `revision`; anything written to the key after it stays. */
  removeMarker(key: string, revision: number): Promise<void>;
  /** Highest revision removed from the bucket so far (0: none). */
  purgedThrough(): Promise<number>;
  /** Raises it (never lowers it). */
  raisePurgedThrough(revision: number): Promise<void>;
}

export interface SweepResult {
  readonly purged: number;
  readonly markersRemoved: number;
}

/** Tombstones purged per sweep at most (the rest wait for the next one). */
export const SWEEP_LIMIT = 1000;

/** How often the sweeping POP looks: an eighth of the TTL, between 1 s and 1 h. */
export function sweepIntervalMs(ttlMs: number): number {
  return Math.min(3_600_000, Math.max(1000, Math.floor(ttlMs / 8)));
}

export async function sweepTombstones(db: ReplicaDb, bucket: SweepBucket, ttlMs: number, nowMs: number): Promise<SweepResult> {
  const cutoffMs = nowMs - ttlMs;
  const tombstones = db.expiredTombstones(cutoffMs, SWEEP_LIMIT);
  let purged = 0;
  if (tombstones.length > 0) {
    await bucket.raisePurgedThrough(Math.max(...tombstones.map((t) => t.revision)));
    for (const t of tombstones) if (await bucket.purge(keyOf(t.id), t.revision)) purged++;
  }
  const old: { key: string; revision: number }[] = [];
  for await (const m of bucket.markers()) if (m.createdMs < cutoffMs) old.push(m);
  if (old.length > 0) {
    await bucket.raisePurgedThrough(Math.max(...old.map((m) => m.revision)));
    for (const m of old) await bucket.removeMarker(m.key, m.revision);
  }
  return { purged, markersRemoved: old.length };
}

// The tombstone sweep's view of the NATS buckets (tombstone-sweep.ts SweepBucket): revision-checked
// purges of the backends' bucket and the `purged through` watermark, kept in the presence bucket (a key
// in the backends' bucket would move its stream past what the watcher delivers, and look like a stall).
import type { JetStreamManager } from "@nats-io/jetstream";
import type { KV, KvEntry } from "@nats-io/kv";
import type { SweepBucket } from "./tombstone-sweep.ts";
import { BACKEND_KEYS } from "./replicated-row.ts";

/** Key of the watermark in `<bucket>_pops` (presence keys are "b.<id>", and this value has no `id`). */
export const PURGED_THROUGH_KEY = "purged_through";

/** JetStream refused a write because the key is not at the revision it expected (err_code 10071; the
 *  KV client's errors carry it in api_error, kv-put.ts's in errCode). */
export function isWrongRevision(err: unknown): boolean {
  const e = err as { code?: unknown; message?: string; errCode?: unknown; api_error?: { err_code?: number } };
  return e?.api_error?.err_code === 10071 || e?.errCode === 10071 || /wrong last sequence|key exists/i.test(String(e?.message ?? ""));
}

export async function readPurgedThrough(pops: KV): Promise<number> {
  return revisionIn(await pops.get(PURGED_THROUGH_KEY));
}

function revisionIn(e: KvEntry | null): number {
  if (e === null || e.operation !== "PUT") return 0;
  try {
    const n = Number((JSON.parse(e.string()) as { revision?: unknown }).revision);
    return Number.isSafeInteger(n) && n > 0 ? n : 0;
  } catch {
    return 0;
  }
}

export function natsSweepBucket(kv: KV, pops: KV, jsm: JetStreamManager, bucket: string): SweepBucket {
  return {
    async purge(key, revision) {
      try {
        await kv.purge(key, { previousSeq: revision });
        return true;
      } catch (err) {
        if (isWrongRevision(err)) return false;
        throw err;
      }
    },
    async *markers() {
      // headers only: the sweep needs the operation, revision and time, not the rows
      const iter = await kv.history({ key: BACKEND_KEYS, headers_only: true } as { key: string });
      for await (const e of iter) {
        if (e.operation === "DEL" || e.operation === "PURGE") yield { key: e.key, revision: e.revision, createdMs: e.created.getTime() };
      }
    },
    async removeMarker(key, revision) {
      await jsm.streams.purge(`KV_${bucket}`, { filter: `$KV.${bucket}.${key}`, seq: revision + 1 });
    },
    purgedThrough: () => readPurgedThrough(pops),
    async raisePurgedThrough(revision) {
      for (let attempt = 0; attempt < 5; attempt++) {
        const e = await pops.get(PURGED_THROUGH_KEY);
        const value = JSON.stringify({ revision });
        if (revisionIn(e) >= revision) return;
        try {
          if (e === null || e.operation !== "PUT") await pops.create(PURGED_THROUGH_KEY, value);
          else await pops.update(PURGED_THROUGH_KEY, value, e.revision);
          return;
        } catch (err) {
          if (!isWrongRevision(err)) throw err;
        }
      }
      throw new Error("purged-through watermark: too many concurrent updates");
    },
  };
}

// A local copy of the last good route snapshot (`EDGEPROXY_POSTGRES_SNAPSHOT_PATH`), so a POP restarted
// while its networked store is down still routes. JSON, replaced whole on every applied change:
//
//   { "format": "edgeproxy-route-snapshot", "version": 1, "savedAtMs": …, "generation": "…",
//     "backends": [ { id, app, region, country, host, port, healthy, weight, softLimit, hardLimit, version } ] }
//
// Rows are validated again on load by the same rules as store rows (core/backend-row.ts).
import type { Backend, RouteSnapshot } from "../core/types.ts";
import { parseBackendRow } from "../core/backend-row.ts";
import { readFileText, writeFileAtomic } from "../runtime/fs.ts";

const FORMAT = "edgeproxy-route-snapshot";

export interface SavedSnapshot {
  readonly snapshot: RouteSnapshot;
  readonly savedAtMs: number;
}

export interface SnapshotFile {
  readonly path: string;
  save(snapshot: RouteSnapshot, nowMs: number): Promise<void>;
  /** The saved snapshot, or null when there is no file. Rejects when the file is unusable. */
  load(): Promise<SavedSnapshot | null>;
}

export function encodeSnapshot(snapshot: RouteSnapshot, nowMs: number): string {
  return JSON.stringify({ format: FORMAT, version: 1, savedAtMs: nowMs, generation: snapshot.generation, backends: snapshot.backends });
}

export function decodeSnapshot(text: string): SavedSnapshot {
  const doc = JSON.parse(text) as Record<string, unknown>;
  if (doc === null || typeof doc !== "object" || doc.format !== FORMAT || doc.version !== 1 || !Array.isArray(doc.backends)) {
    throw new Error(`not an edgeProxy route snapshot (expected format "${FORMAT}" version 1)`);
  }
  const backends: Backend[] = [];
  for (const b of doc.backends as Record<string, unknown>[]) {
    const parsed = parseBackendRow({
      id: b.id, app: b.app, region: b.region, country: b.country, wg_ip: b.host, port: b.port,
      healthy: b.healthy, weight: b.weight, soft_limit: b.softLimit, hard_limit: b.hardLimit, version: b.version,
    });
    if (!parsed.ok) throw new Error(`backend ${parsed.id ?? "?"}: ${parsed.reason}`);
    backends.push(parsed.backend);
  }
  return { snapshot: { generation: String(doc.generation), backends }, savedAtMs: Number(doc.savedAtMs) };
}

export function snapshotFile(path: string): SnapshotFile {
  return {
    path,
    save: (snapshot, nowMs) => writeFileAtomic(path, encodeSnapshot(snapshot, nowMs)),
    async load() {
      let text: string;
      try {
        text = await readFileText(path);
      } catch (err) {
        if ((err as { code?: unknown }).code === "ENOENT") return null;
        throw err;
      }
      return decodeSnapshot(text);
    },
  };
}

// The wire format of one backend in the replication bucket (pure: no I/O).
//
//   key    "b." + base64url(UTF-8 id)        (backend ids may hold any character; KV keys may not)
//   value  {"v":1,"hlc":"0001735689600123.000004","origin":"pop-a","owner":"pop-a"|null,
//           "row":{"id":…,"app":…,…}|null}
//
//   hlc     hybrid-logical-clock stamp of the change (core/hlc.ts); with origin, the LWW order
//   origin  POP that made the change
//   owner   POP whose API holds the backend's heartbeats (registered backends), null for static ones
//   row     the replicated columns as stored; null = tombstone (the row was deleted for good)
import type { Stamp } from "../core/lww.ts";
import { parseHlc } from "../core/hlc.ts";

/** Columns every POP holds the same; version, last_heartbeat_ms and hlc stay local. */
export const REPLICATED_COLUMNS = [
  "id", "app", "region", "country", "wg_ip", "port", "healthy", "weight", "soft_limit", "hard_limit", "deleted", "created_at", "updated_at", "source",
] as const;

/** Columns compared by a canonical dump (timestamps and provenance may legitimately differ). */
export const ROUTING_COLUMNS = ["id", "app", "region", "country", "wg_ip", "port", "healthy", "weight", "soft_limit", "hard_limit", "deleted"] as const;

export type ReplicatedColumn = (typeof REPLICATED_COLUMNS)[number];
export type ReplicatedRow = { readonly [K in ReplicatedColumn]: string | number | null };

export interface ReplicatedEntry extends Stamp {
  readonly id: string;
  readonly owner: string | null;
  /** null: tombstone. */
  readonly row: ReplicatedRow | null;
}

const KEY_PREFIX = "b.";
export const BACKEND_KEYS = "b.>";

/** Throws on bytes that are not UTF-8 (a key no backend id maps to). */
const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true });

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/** Character code → its value in B64, -1 for any other character. */
const B64_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < B64.length; i++) B64_VALUE[B64.charCodeAt(i)] = i;

export function keyOf(id: string): string {
  const bytes = new TextEncoder().encode(id);
  let out = KEY_PREFIX;
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    const chars = Math.min(4, Math.ceil(((bytes.length - i) * 8) / 6));
    for (let c = 0; c < chars; c++) out += B64[(n >> (18 - 6 * c)) & 63];
  }
  return out;
}

/** The backend id of a key, or null for a key that is not a backend's. */
export function idOfKey(key: string): string | null {
  if (!key.startsWith(KEY_PREFIX)) return null;
  const text = key.slice(KEY_PREFIX.length);
  const bytes: number[] = [];
  let acc = 0, bits = 0, ascii = true;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const v = c < 128 ? B64_VALUE[c]! : -1;
    if (v < 0) return null;
    acc = ((acc << 6) | v) & 0xffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      const byte = (acc >> bits) & 0xff;
      bytes.push(byte);
      ascii &&= byte < 0x80;
    }
  }
  // ASCII ids (the usual ones) need no decoder: the watch reads one key per entry. (Spread arguments
  // have a limit; NATS subjects stay far below it by default, but a key is not trusted.)
  if (ascii && bytes.length <= 1024) return String.fromCharCode(...bytes);
  try {
    return STRICT_UTF8.decode(new Uint8Array(bytes));
  } catch {
    return null;
  }
}

/** A stored row (as the driver returns it) → the replicated columns; other value types become text. */
export function replicatedRow(stored: Readonly<Record<string, unknown>>): ReplicatedRow {
  const out: Record<string, string | number | null> = {};
  for (const c of REPLICATED_COLUMNS) {
    const v = stored[c];
    out[c] = v === null || v === undefined ? null : typeof v === "number" || typeof v === "string" ? v : typeof v === "bigint" ? Number(v) : String(v);
  }
  return out as ReplicatedRow;
}

export function encodeEntry(entry: ReplicatedEntry): string {
  return JSON.stringify({ v: 1, hlc: entry.hlc, origin: entry.origin, owner: entry.owner, row: entry.row });
}

/** The entry under `key`, or a reason it cannot be used (a newer format, a damaged value). */
export function decodeEntry(key: string, text: string): ReplicatedEntry | { readonly problem: string } {
  const id = idOfKey(key);
  if (id === null) return { problem: `key ${key} is not a backend key` };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { problem: `value of ${key} is not JSON` };
  }
  const v = value as Record<string, unknown>;
  if (v === null || typeof v !== "object" || v.v !== 1) return { problem: `value of ${key} has an unknown format (v=${JSON.stringify(v?.v)})` };
  if (typeof v.hlc !== "string" || parseHlc(v.hlc) === null) return { problem: `value of ${key}: hlc: expected a stamp` };
  if (typeof v.origin !== "string" || v.origin === "") return { problem: `value of ${key}: origin: expected a POP id` };
  if (v.owner !== null && typeof v.owner !== "string") return { problem: `value of ${key}: owner: expected a POP id or null` };
  if (v.row === null) return { id, hlc: v.hlc, origin: v.origin, owner: v.owner as string | null, row: null };
  if (typeof v.row !== "object" || (v.row as Record<string, unknown>).id !== id) return { problem: `value of ${key}: row: expected the row of ${JSON.stringify(id)}` };
  return { id, hlc: v.hlc, origin: v.origin, owner: v.owner as string | null, row: replicatedRow(v.row as Record<string, unknown>) };
}

/** Whether two rows hold the same replicated values. */
export function sameRow(a: ReplicatedRow | null, b: ReplicatedRow | null): boolean {
  if (a === null || b === null) return a === b;
  return REPLICATED_COLUMNS.every((c) => a[c] === b[c]);
}

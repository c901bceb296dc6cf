// What `edgeproxy cluster status` and GET /api/v1/cluster show: one line per POP, from the presence
// bucket (each POP writes its own key every few seconds) and this POP's own live state. Pure.

/** What a POP writes under its key in the presence bucket. */
export interface PresenceValue {
  readonly id: string;
  readonly region: string;
  readonly outbox: number;
  readonly lag_ms: number | null;
  readonly applied_revision: number;
  readonly interval_ms: number;
  /** Written once by a POP that stopped cleanly (it will not write again until it restarts). */
  readonly stopped?: boolean;
}

export interface PopStatus {
  readonly id: string;
  readonly region: string | null;
  /** When the POP last wrote its presence (server time, ms since the epoch); null: never seen. */
  readonly last_seen_ms: number | null;
  readonly last_seen_secs_ago: number | null;
  /** `stopped`: the POP said so when it stopped cleanly; `down`: silent for three of its intervals. */
  readonly link: "up" | "down" | "stopped";
  readonly lag_secs: number | null;
  readonly outbox: number | null;
  readonly self: boolean;
}

export interface ClusterStatus {
  readonly pop: string;
  readonly link: "up" | "down";
  readonly pops: readonly PopStatus[];
}

export interface SeenPresence {
  readonly value: PresenceValue;
  readonly seenMs: number;
}

/** A POP silent for this many of its presence intervals counts as down. */
export const MISSED_INTERVALS = 3;

/** A POP not heard from for this long (a decommissioned one) is left out of the list. */
export const FORGET_AFTER_MS = 24 * 3600 * 1000;

/** Alive: heard from within its missed intervals, and not stopped. */
export function isFresh(p: SeenPresence, nowMs: number): boolean {
  return p.value.stopped !== true && nowMs - p.seenMs <= MISSED_INTERVALS * Math.max(250, p.value.interval_ms);
}

/**
 * One presence per POP id, the newest (latest `seenMs`) kept: listing a bucket's keys while a POP
 * rewrites its key can return that key twice.
 */
export function newestPerPop(seen: Iterable<SeenPresence>): SeenPresence[] {
  const byId = new Map<string, SeenPresence>();
  for (const p of seen) {
    const had = byId.get(p.value.id);
    if (had === undefined || p.seenMs > had.seenMs) byId.set(p.value.id, p);
  }
  return [...byId.values()];
}

/** `self`: this POP's live state (the proxy); null when seen from outside (the CLI), then `selfId` only marks it. */
export function clusterStatus(selfId: string, self: { readonly value: PresenceValue; readonly linkUp: boolean } | null, others: Iterable<SeenPresence>, nowMs: number): ClusterStatus {
  const pops: PopStatus[] = [];
  let selfUp = false;
  for (const p of newestPerPop(others)) {
    if (self !== null && p.value.id === selfId) continue;
    if (p.value.id !== selfId && nowMs - p.seenMs > FORGET_AFTER_MS) continue;
    const fresh = isFresh(p, nowMs);
    if (p.value.id === selfId) selfUp = fresh;
    pops.push(view(p.value, p.seenMs, fresh ? "up" : p.value.stopped === true ? "stopped" : "down", nowMs, p.value.id === selfId));
  }
  if (self !== null) {
    selfUp = self.linkUp;
    pops.push(view(self.value, nowMs, self.linkUp ? "up" : "down", nowMs, true));
  }
  pops.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { pop: selfId, link: selfUp ? "up" : "down", pops };
}

function view(v: PresenceValue, seenMs: number, link: PopStatus["link"], nowMs: number, self: boolean): PopStatus {
  return {
    id: v.id,
    region: v.region,
    last_seen_ms: seenMs,
    last_seen_secs_ago: Math.max(0, Math.round((nowMs - seenMs) / 100) / 10),
    link,
    lag_secs: v.lag_ms === null ? null : v.lag_ms / 1000,
    outbox: v.outbox,
    self,
  };
}

/** The lowest id among the POPs seen alive (this one included): the one that expires orphaned backends. */
export function expiringPop(selfId: string, others: Iterable<SeenPresence>, nowMs: number): string {
  let lowest = selfId;
  for (const p of others) if (isFresh(p, nowMs) && p.value.id < lowest) lowest = p.value.id;
  return lowest;
}

/** Text table for the CLI. */
export function clusterTable(status: ClusterStatus): string {
  const rows = status.pops.map((p) => [
    p.id + (p.self ? " (this POP)" : ""), p.region ?? "-", p.last_seen_secs_ago === null ? "never" : `${p.last_seen_secs_ago}s ago`, p.link,
    p.lag_secs === null ? "-" : `${p.lag_secs.toFixed(3)}s`, p.outbox === null ? "-" : String(p.outbox),
  ]);
  const head = ["POP", "REGION", "LAST SEEN", "LINK", "LAG", "OUTBOX"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [head, ...rows].map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd()).join("\n");
}

// `db show` / `db healthy` output: one row per backend as an aligned text table, or as JSON.
import type { BackendRecord } from "../store/routing-store.ts";
import type { LiveRow } from "../store/live-table.ts";
import { hostPort } from "../core/host-port.ts";

export interface BackendLine {
  readonly id: string;
  readonly app: string | null;
  readonly region: string | null;
  readonly country: string | null;
  readonly ip: string | null;
  readonly port: number | null;
  readonly healthy: boolean;
  readonly deleted: boolean;
  readonly weight: number | null;
  readonly soft_limit: number | null;
  readonly hard_limit: number | null;
  readonly source: string | null;
  /** Heartbeat-managed (registered through the API) rather than static. */
  readonly registered: boolean;
  readonly last_heartbeat_ms: number | null;
  /** The running proxy's view, or null when no proxy publishes live state for this file. */
  readonly live: { readonly active: number; readonly circuit: string | null; readonly probe: string | null } | null;
  /** Why the row cannot be routed, or null. */
  readonly problem: string | null;
}

/** `live`: the proxy's rows when its state is fresh, else null. A backend it has not loaded yet shows 0. */
export function backendLine(record: BackendRecord, live: ReadonlyMap<string, LiveRow> | null): BackendLine {
  const b = record.backend;
  const raw = record.columns;
  const text = (v: unknown) => (typeof v === "string" ? v : v === null || v === undefined ? null : String(v));
  const num = (v: unknown) => (typeof v === "number" ? v : typeof v === "bigint" ? Number(v) : null);
  const row = live?.get(record.id);
  return {
    id: record.id,
    app: b ? b.app : text(raw.app),
    region: b ? b.region : text(raw.region),
    country: b ? b.country : text(raw.country),
    ip: b ? b.host : text(raw.wg_ip),
    port: b ? b.port : num(raw.port),
    healthy: b ? b.healthy : false,
    deleted: record.deleted,
    weight: b ? b.weight : num(raw.weight),
    soft_limit: b ? b.softLimit : num(raw.soft_limit),
    hard_limit: b ? b.hardLimit : num(raw.hard_limit),
    source: record.source,
    registered: record.lastHeartbeatMs !== null,
    last_heartbeat_ms: record.lastHeartbeatMs,
    live: live === null || record.deleted ? null : { active: row?.active ?? 0, circuit: row?.circuit ?? null, probe: row?.probe ?? null },
    problem: record.problem,
  };
}

const HEADER = ["ID", "APP", "REGION", "COUNTRY", "ADDRESS", "HEALTHY", "WEIGHT", "LIMITS", "ACTIVE", "CIRCUIT", "PROBE", "SOURCE"] as const;

function cells(l: BackendLine): string[] {
  const dash = (v: unknown) => (v === null || v === undefined || v === "" ? "-" : String(v));
  const address = l.ip === null ? "-" : hostPort(l.ip, dash(l.port));
  const state = l.deleted ? "deleted" : l.problem !== null ? "invalid" : l.healthy ? "yes" : "no";
  return [
    l.id, dash(l.app), dash(l.region), dash(l.country), address, state, dash(l.weight),
    `${dash(l.soft_limit)}/${dash(l.hard_limit)}`, l.live ? String(l.live.active) : "-", dash(l.live?.circuit), dash(l.live?.probe),
    l.registered ? `${dash(l.source)} (heartbeat)` : dash(l.source),
  ];
}

/** Text safe for one table cell: control characters shown as escapes, so a row stays one line. */
function printable(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

export function renderTable(lines: readonly BackendLine[]): string {
  const rows = [HEADER as readonly string[], ...lines.map(cells)].map((r) => r.map(printable));
  const widths = HEADER.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const out = rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd());
  return out.join("\n");
}

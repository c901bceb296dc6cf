// A stored backend as the API shows it. `registered` says whether heartbeats keep it alive (it came
// through the API) or it is static (CLI, hand edit) and never expires.
import type { BackendRecord } from "../store/routing-store.ts";

export interface BackendView {
  readonly id: string;
  readonly app: string | null;
  readonly region: string | null;
  readonly country: string | null;
  readonly ip: string | null;
  readonly port: number | null;
  readonly healthy: boolean;
  readonly weight: number | null;
  readonly soft_limit: number | null;
  readonly hard_limit: number | null;
  readonly version: number;
  readonly source: string | null;
  readonly registered: boolean;
  readonly last_heartbeat_ms: number | null;
  /** Seconds until it is deregistered without a heartbeat; null for a static backend. */
  readonly expires_in_secs: number | null;
  readonly updated_at_ms: number | null;
  /** Why the row cannot be routed (invalid column), or null. */
  readonly problem: string | null;
}

export function backendView(record: BackendRecord, nowMs: number, heartbeatTtlMs: number): BackendView {
  const b = record.backend;
  const raw = record.columns;
  const text = (v: unknown) => (typeof v === "string" ? v : null);
  const num = (v: unknown) => (typeof v === "number" ? v : typeof v === "bigint" ? Number(v) : null);
  const beat = record.lastHeartbeatMs;
  return {
    id: record.id,
    app: b ? b.app : text(raw.app),
    region: b ? b.region : text(raw.region),
    country: b ? b.country : text(raw.country),
    ip: b ? b.host : text(raw.wg_ip),
    port: b ? b.port : num(raw.port),
    healthy: b ? b.healthy : false,
    weight: b ? b.weight : num(raw.weight),
    soft_limit: b ? b.softLimit : num(raw.soft_limit),
    hard_limit: b ? b.hardLimit : num(raw.hard_limit),
    version: record.version,
    source: record.source,
    registered: beat !== null,
    last_heartbeat_ms: beat,
    expires_in_secs: beat === null ? null : Math.max(0, Math.ceil((beat + heartbeatTtlMs - nowMs) / 1000)),
    updated_at_ms: record.updatedAtMs,
    problem: record.problem,
  };
}

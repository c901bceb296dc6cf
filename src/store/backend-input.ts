// Store-independent row handling shared by the libSQL and PostgreSQL stores: an API/CLI BackendInput
// validated into column values by the same rules the proxy applies when it reads rows, and a row read
// back into a BackendRecord.
import { checkBackendColumns, parseBackendRow } from "../core/backend-row.ts";
import type { Backend } from "../core/types.ts";
import type { AdjustedRow, BackendInput, BackendRecord, SkippedRow } from "./routing-store.ts";
import { BackendInputError, inputError } from "./store-errors.ts";

export function checkId(id: string): void {
  const problem = checkBackendColumns({ id });
  if (problem !== null) throw inputError(problem);
}

export function flag(value: unknown, field: string): number {
  if (typeof value !== "boolean") throw new BackendInputError(field, `${field}: expected true or false, got ${JSON.stringify(value)}`);
  return value ? 1 : 0;
}

/** undefined: leave the column as it is; null: static backend (never expires); else a timestamp. */
function heartbeat(value: unknown): number | null | undefined {
  if (value === undefined || value === null) return value;
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return value;
  throw new BackendInputError("lastHeartbeatMs", `lastHeartbeatMs: expected an integer >= 0 or null, got ${JSON.stringify(value)}`);
}

/** BackendInput → column values, validated (and defaulted) by the rules the proxy applies when it reads them. */
export function inputRow(input: BackendInput) {
  const raw = {
    id: input.id,
    app: input.app ?? null,
    region: input.region,
    country: input.country ?? null,
    wg_ip: input.host,
    port: input.port,
    healthy: flag(input.healthy ?? true, "healthy"),
    weight: input.weight ?? null,
    soft_limit: input.softLimit ?? null,
    hard_limit: input.hardLimit ?? null,
  };
  // Input is held to the strict rules (soft_limit <= hard_limit, values in range); only rows edited
  // by hand are read leniently (parseBackendRow's `adjusted`).
  const problem = checkBackendColumns(raw);
  if (problem !== null) throw inputError(problem);
  const parsed = parseBackendRow(raw);
  if (!parsed.ok) throw inputError(parsed.reason);
  if (parsed.adjusted.length > 0) throw inputError(parsed.adjusted[0]!);
  const b = parsed.backend;
  return {
    id: b.id, app: b.app, region: b.region, country: b.country, wg_ip: b.host, port: b.port,
    healthy: b.healthy ? 1 : 0, weight: b.weight, soft_limit: b.softLimit, hard_limit: b.hardLimit,
    last_heartbeat_ms: heartbeat(input.lastHeartbeatMs),
  };
}

/** A row as read by either driver (PostgreSQL hands timestamps back as Date). */
export function toRecord(row: Record<string, unknown>): BackendRecord {
  const parsed = parseBackendRow(row);
  const num = (v: unknown) => (typeof v === "number" ? v : typeof v === "bigint" ? Number(v) : v instanceof Date ? v.getTime() : null);
  const text = (v: unknown) => (typeof v === "string" ? v : null);
  const columns: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) columns[k] = v instanceof Date ? v.getTime() : v;
  return {
    id: String(row.id),
    backend: parsed.ok ? parsed.backend : null,
    problem: parsed.ok ? null : parsed.reason,
    deleted: row.deleted !== null && row.deleted !== 0,
    version: num(row.version) ?? 0,
    createdAtMs: num(row.created_at),
    updatedAtMs: num(row.updated_at),
    lastHeartbeatMs: num(row.last_heartbeat_ms),
    source: text(row.source),
    origin: text(row.origin),
    columns,
  };
}

/** Snapshot rows (as read by either store, deleted ones already left out) → the backends to route, the
 *  rows skipped with why, and the rows routed with values replaced (with why). A `deleted` value the
 *  query let through that is not 0/1/NULL is skipped too. */
export function snapshotRows(rows: Iterable<Record<string, unknown>>): { backends: Backend[]; skipped: SkippedRow[]; adjusted: AdjustedRow[] } {
  const backends: Backend[] = [];
  const skipped: SkippedRow[] = [];
  const adjusted: AdjustedRow[] = [];
  for (const row of rows) {
    if (row.deleted !== null && row.deleted !== 0) {
      skipped.push({ id: typeof row.id === "string" ? row.id : null, reason: `deleted: expected 0 or 1 or NULL, got ${JSON.stringify(row.deleted)}` });
      continue;
    }
    const parsed = parseBackendRow(row);
    if (!parsed.ok) {
      skipped.push({ id: parsed.id, reason: parsed.reason });
      continue;
    }
    backends.push(parsed.backend);
    if (parsed.adjusted.length > 0) adjusted.push({ id: parsed.backend.id, version: parsed.backend.version, reasons: parsed.adjusted });
  }
  return { backends, skipped, adjusted };
}

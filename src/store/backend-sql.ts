// The SQL both stores (libsql-store.ts, pg-store.ts) write the same way: the column lists, the upsert,
// the one-column-set UPDATE behind every setter, and the setters themselves. Only what the dialects
// spell differently stays in each store: parameter placeholders (`?` / `$n`), NULL-safe comparison,
// how the upsert reports that the row existed, transactions and the change marker.
import { checkBackendColumns } from "../core/backend-row.ts";
import { BackendInputError, inputError } from "./store-errors.ts";
import { flag, type inputRow } from "./backend-input.ts";

/** How a dialect writes the n-th (1-based) statement parameter. */
export type Placeholder = (n: number) => string;
export const SQLITE_PARAM: Placeholder = () => "?";
export const PG_PARAM: Placeholder = (n) => `$${n}`;

/** The columns a route snapshot reads (core/backend-row.ts parses them). */
export const SNAPSHOT_COLUMNS = "id, app, region, country, wg_ip, port, healthy, weight, soft_limit, hard_limit, version, deleted";
export const NOT_DELETED = "(deleted IS NULL OR deleted = 0)";

/** Who and when a change is stamped with: `source`, `origin`, `updated_at` (and `created_at` on insert). */
export interface ChangeStamp {
  readonly source: string | null;
  readonly origin: string | null;
  /** A number of ms (SQLite) or a Date (PostgreSQL TIMESTAMPTZ). */
  readonly at: number | Date;
}

export interface Statement {
  readonly sql: string;
  readonly params: readonly unknown[];
}

const ROUTING_COLUMNS = ["id", "app", "region", "country", "wg_ip", "port", "healthy", "weight", "soft_limit", "hard_limit"] as const;

/**
 * INSERT of a validated row (backend-input.ts inputRow), or on conflict replace its routing columns and
 * un-delete it. The table is aliased `b`, so PostgreSQL can append `RETURNING (b.xmax <> 0)`.
 */
export function upsertStatement(p: Placeholder, row: ReturnType<typeof inputRow>, stamp: ChangeStamp): Statement {
  const values = ROUTING_COLUMNS.map((c) => row[c]);
  const params = [...values, stamp.source, stamp.origin, stamp.at, stamp.at];
  const marks = params.map((_, i) => p(i + 1));
  const sql =
    `INSERT INTO backends AS b (${ROUTING_COLUMNS.join(", ")}, deleted, source, origin, created_at, updated_at)\n` +
    `VALUES (${marks.slice(0, ROUTING_COLUMNS.length).join(", ")}, 0, ${marks.slice(ROUTING_COLUMNS.length).join(", ")})\n` +
    `ON CONFLICT (id) DO UPDATE SET ${ROUTING_COLUMNS.slice(1).map((c) => `${c} = excluded.${c}`).join(", ")}, deleted = 0, ` +
    "source = excluded.source, origin = excluded.origin, updated_at = excluded.updated_at";
  return { sql, params };
}

/** One UPDATE of the given columns on one id, stamped; the values are checked by the row rules first. */
export function updateStatement(p: Placeholder, id: string, set: Readonly<Record<string, unknown>>, stamp: ChangeStamp): Statement {
  const problem = checkBackendColumns({ id, ...set });
  if (problem !== null) throw inputError(problem);
  const columns = Object.keys(set);
  const n = columns.length;
  const assignments = columns.map((c, i) => `${c} = ${p(i + 1)}`).join(", ");
  return {
    sql: `UPDATE backends SET ${assignments}, source = ${p(n + 1)}, origin = ${p(n + 2)}, updated_at = ${p(n + 3)} WHERE id = ${p(n + 4)}`,
    params: [...columns.map((c) => set[c]), stamp.source, stamp.origin, stamp.at, id],
  };
}

export function checkHeartbeatTime(nowMs: number): void {
  if (!Number.isSafeInteger(nowMs) || nowMs < 0) throw new BackendInputError("nowMs", `nowMs: expected an integer >= 0, got ${nowMs}`);
}

export function checkCutoff(cutoffMs: number): void {
  if (!Number.isSafeInteger(cutoffMs)) throw new BackendInputError("cutoffMs", `cutoffMs: expected an integer, got ${cutoffMs}`);
}

/** The RoutingStore setters, the same on both stores: each is one stamped UPDATE (`update`). Async, so
 *  bad input rejects like a store error instead of throwing. */
export abstract class BackendSetters {
  /** Resolves true when a row with the id exists and was changed. */
  protected abstract update(id: string, set: Readonly<Record<string, unknown>>, action: string): Promise<boolean>;

  async setHealthy(id: string, healthy: boolean): Promise<boolean> {
    return this.update(id, { healthy: flag(healthy, "healthy") }, "set healthy");
  }

  async setWeight(id: string, weight: number): Promise<boolean> {
    return this.update(id, { weight }, "set weight");
  }

  async setLimits(id: string, softLimit: number, hardLimit: number): Promise<boolean> {
    return this.update(id, { soft_limit: softLimit, hard_limit: hardLimit }, "set limits");
  }

  async softDelete(id: string): Promise<boolean> {
    return this.update(id, { deleted: 1 }, "soft-delete backend");
  }

  async enable(id: string): Promise<boolean> {
    return this.update(id, { healthy: 1, deleted: 0 }, "enable backend");
  }
}

// The routing store port: what the proxy, the CLI and the API need from `routing.db`, whatever holds it
// (libSQL file today, PostgreSQL later). Async so a networked store can implement it unchanged.
import type { Backend, RouteSnapshot } from "../core/types.ts";

/** Who made a change; written to the row's `source` column. */
export type ChangeSource = "cli" | "api" | "replication" | "health" | (string & {});

export interface SkippedRow {
  readonly id: string | null;
  readonly reason: string;
}

/** A row routed with some values replaced (core/backend-row.ts parseBackendRow `adjusted`). */
export interface AdjustedRow {
  readonly id: string;
  /** The row's version: a change of the row is a new version, so a warning can be given once per change. */
  readonly version: number;
  readonly reasons: readonly string[];
}

export interface SnapshotRead {
  readonly snapshot: RouteSnapshot;
  /** Non-deleted rows that cannot be routed at all; the rest of the table still loads. */
  readonly skipped: readonly SkippedRow[];
  /** Rows routed with out-of-shape values replaced (e.g. soft_limit above hard_limit). */
  readonly adjusted?: readonly AdjustedRow[];
  /** Where readChanges can continue from; absent when the store cannot tell what changed. */
  readonly cursor?: string;
}

/** The rows that changed since a cursor, parsed by the rules readSnapshot applies to every row. */
export interface ChangeRead {
  /** The change marker these changes bring the snapshot to (its new generation). */
  readonly generation: string;
  /** Where the next readChanges continues from. */
  readonly cursor: string;
  /** Changed rows that route. */
  readonly backends: readonly Backend[];
  /** Changed ids that route no more: deleted, removed, renamed away, or now skipped. */
  readonly removed: readonly string[];
  readonly skipped: readonly SkippedRow[];
  readonly adjusted: readonly AdjustedRow[];
}

/** What `upsertBackend` writes. Omitted fields take the documented defaults. */
export interface BackendInput {
  readonly id: string;
  readonly app?: string;
  readonly region: string;
  /** ISO 3166-1 alpha-2 or null (no country tier). */
  readonly country?: string | null;
  /** IPv4, IPv6 (no brackets) or hostname; stored in `wg_ip`. */
  readonly host: string;
  readonly port: number;
  /** Default true. */
  readonly healthy?: boolean;
  /** Default 1. */
  readonly weight?: number;
  /** Default 100. */
  readonly softLimit?: number;
  /** Default max(150, softLimit). */
  readonly hardLimit?: number;
  /** Heartbeat to record with the write: a time (API registration), null (static: never expires) or
   *  omitted (leave as it is). */
  readonly lastHeartbeatMs?: number | null;
}

/** One stored row, valid or not, for `db show` and the API. */
export interface BackendRecord {
  readonly id: string;
  /** The validated backend, or null when the row is invalid (`problem` says why). */
  readonly backend: Backend | null;
  readonly problem: string | null;
  readonly deleted: boolean;
  readonly version: number;
  readonly createdAtMs: number | null;
  readonly updatedAtMs: number | null;
  readonly lastHeartbeatMs: number | null;
  readonly source: string | null;
  readonly origin: string | null;
  /** Every column as stored (driver metadata removed). */
  readonly columns: Readonly<Record<string, unknown>>;
}

export interface RoutingStore {
  /**
   * Cheap token that changes whenever a routing-relevant row changes (by this process, another
   * connection, another process or a hand edit). Rejects with a StoreError when unreadable.
   */
  changeMarker(): Promise<string>;
  /** All non-deleted rows; `snapshot.generation` is the change marker they were read at. */
  readSnapshot(): Promise<SnapshotRead>;
  /**
   * Only the rows changed since `cursor` (from a SnapshotRead or an earlier ChangeRead), when the store
   * can say exactly which: null when it cannot (another store, the change log no longer reaches back to
   * the cursor), and the caller reads the whole snapshot. Optional: a store may always read it whole.
   */
  readChanges?(cursor: string): Promise<ChangeRead | null>;

  /** Insert or replace the row's routing fields and un-delete it. Resolves true when the id existed. */
  upsertBackend(input: BackendInput): Promise<boolean>;
  /** The following resolve true when a row with the id exists (deleted or not) and was changed. */
  setHealthy(id: string, healthy: boolean): Promise<boolean>;
  setWeight(id: string, weight: number): Promise<boolean>;
  setLimits(id: string, softLimit: number, hardLimit: number): Promise<boolean>;
  /** deleted = 1: kept in the table, out of routing. */
  softDelete(id: string): Promise<boolean>;
  /** healthy = 1 and deleted = 0. */
  enable(id: string): Promise<boolean>;
  /** Removes the row for good. */
  deleteBackend(id: string): Promise<boolean>;
  /** Records a heartbeat; resolves false when the id is unknown or soft-deleted (it must re-register). */
  touchHeartbeat(id: string, nowMs: number): Promise<boolean>;

  /**
   * Soft-deletes, in one write, every live row whose heartbeat is older than `cutoffMs` (rows without a
   * heartbeat are static and never expire); resolves with their ids.
   */
  expireHeartbeats(cutoffMs: number): Promise<string[]>;

  getBackend(id: string): Promise<BackendRecord | null>;
  listBackends(options?: { readonly includeDeleted?: boolean }): Promise<BackendRecord[]>;

  /** Never rejects; later calls reject with a StoreError. */
  close(): Promise<void>;
}

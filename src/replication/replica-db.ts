// The replication side of one POP's routing.db: the outbox of local changes (filled by a trigger on
// the change log, migrations.ts step 3), the stamp of every replicated key (replication_keys: HLC,
// origin, owner, tombstone, last bucket revision seen) and the last applied bucket revision
// (store_meta). Its own connection; every method is one short transaction (a watched batch: one
// transaction of at most a few hundred entries).
import { formatHlc, nextHlc, observeHlc, parseHlc, ZERO_HLC, type Hlc } from "../core/hlc.ts";
import { mergeDecision, type Merge } from "../core/lww.ts";
import { inTransaction, openSqlConnection, type SqlConnection } from "../store/sql-connection.ts";
import { migrate } from "../store/migrations.ts";
import { REPLICATED_COLUMNS, replicatedRow, sameRow, type ReplicatedEntry, type ReplicatedRow } from "./replicated-row.ts";

/** A stamped local change ready to publish. */
export interface OutboxItem {
  readonly id: string;
  /** Change counter of the outbox row: it is removed after the publish only if no newer change came. */
  readonly n: number;
  readonly entry: ReplicatedEntry;
  /** Bucket revision of the key as last seen here (0: never): the publish expects it (compare-and-set). */
  readonly revision: number;
}

/** One bucket entry as the watcher delivered it (in revision order). */
export type WatchedChange =
  | { readonly kind: "entry"; readonly entry: ReplicatedEntry; readonly revision: number }
  /** A DEL/PURGE marker: the key holds nothing any more. */
  | { readonly kind: "removed"; readonly id: string; readonly revision: number }
  /** Not a backend's entry (a damaged value, a foreign key): only moves the applied revision. */
  | { readonly kind: "skip"; readonly revision: number };

export interface BatchResult {
  /** Changes from elsewhere merged: entries another POP wrote (this POP's own publishes come back
   *  through the watch and are not counted) and removals that deleted a row here. */
  readonly applied: number;
  readonly conflicts: number;
  readonly changed: boolean;
}

export interface ApplyResult {
  readonly decision: Merge;
  /** The incoming version won over a local change not yet published, or lost to a local one. */
  readonly conflict: boolean;
  /** routing.db changed (the route table needs a refresh). */
  readonly changed: boolean;
}

const META_REVISION = "replication_revision";
const META_STREAM = "replication_stream";
const META_RECONCILED = "replication_reconciled";
const INSERT_COLUMNS = [...REPLICATED_COLUMNS, "origin"];

export class ReplicaDb {
  #clock: Hlc = ZERO_HLC;

  private readonly db: SqlConnection;
  readonly popId: string;
  private constructor(db: SqlConnection, popId: string) {
    this.db = db;
    this.popId = popId;
    const row = db.get("SELECT MAX(hlc) AS hlc FROM replication_keys");
    this.#clock = (typeof row?.hlc === "string" ? parseHlc(row.hlc) : null) ?? ZERO_HLC;
  }

  /** Opens (and migrates) routing.db. A short busy timeout: this runs on the data path's thread. */
  static open(path: string, popId: string, busyTimeoutMs = 200): ReplicaDb {
    const db = openSqlConnection(path);
    try {
      db.exec(`PRAGMA busy_timeout = ${busyTimeoutMs}`);
      db.get("PRAGMA journal_mode = WAL");
      db.exec("PRAGMA synchronous = NORMAL");
      migrate(db);
    } catch (err) {
      db.close();
      throw err;
    }
    return new ReplicaDb(db, popId);
  }

  /** Changes whenever another connection (CLI, API, sqlite3, the route sync) committed to the file. */
  dataVersion(): number {
    return Number(this.db.get("PRAGMA data_version")?.data_version ?? 0);
  }

  outboxDepth(): number {
    return Number(this.db.get("SELECT COUNT(*) AS n FROM replication_outbox")?.n ?? 0);
  }

  appliedRevision(): number {
    return Number(this.#meta(META_REVISION) ?? 0);
  }

  /** Identity of the bucket's stream the applied revision belongs to (its creation time). */
  streamIdentity(): string | null {
    return this.#meta(META_STREAM);
  }

  setStreamIdentity(identity: string): void {
    this.db.run("INSERT INTO store_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [META_STREAM, identity]);
  }

  /**
   * The bucket was reset (or is another one): forget its revisions and queue every key known here,
   * with its current stamp, so the new bucket receives them (compare-and-set sorts out the rest).
   */
  resetBucket(identity: string): void {
    inTransaction(this.db, "BEGIN IMMEDIATE", () => {
      this.db.run("UPDATE replication_keys SET revision = 0");
      this.db.run("DELETE FROM store_meta WHERE key IN (?, ?)", [META_REVISION, META_RECONCILED]);
      this.db.run("INSERT INTO store_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [META_STREAM, identity]);
      this.db.run(`INSERT INTO replication_outbox (id, at_ms, hlc) SELECT k.id, 0, k.hlc FROM replication_keys k WHERE true
        ON CONFLICT (id) DO NOTHING`);
      this.db.run(`INSERT INTO replication_outbox (id, at_ms) SELECT id, COALESCE(updated_at, 0) FROM backends WHERE true ON CONFLICT (id) DO NOTHING`);
    });
  }

  /** Gives every unstamped outbox row its HLC stamp (at the time of the change); returns how many. */
  stampPending(onlyId?: string): number {
    return inTransaction(this.db, "BEGIN IMMEDIATE", () => this.#stamp(onlyId));
  }

  #stamp(onlyId?: string): number {
    const rows = onlyId === undefined
      ? this.db.all("SELECT id, at_ms FROM replication_outbox WHERE hlc IS NULL ORDER BY at_ms, id")
      : this.db.all("SELECT id, at_ms FROM replication_outbox WHERE hlc IS NULL AND id = ?", [onlyId]);
    for (const r of rows) {
      const id = String(r.id);
      this.#clock = nextHlc(this.#clock, Number(r.at_ms));
      const hlc = formatHlc(this.#clock);
      const current = this.db.get("SELECT last_heartbeat_ms FROM backends WHERE id = ?", [id]);
      const known = this.db.get("SELECT owner FROM replication_keys WHERE id = ?", [id]);
      const knownOwner = typeof known?.owner === "string" ? known.owner : null;
      // Registered here (heartbeats arrive here) → this POP owns its expiry; else keep the owner it had.
      const owner = current !== undefined && current.last_heartbeat_ms !== null ? this.popId : knownOwner !== this.popId ? knownOwner : null;
      this.db.run("UPDATE replication_outbox SET hlc = ? WHERE id = ?", [hlc, id]);
      this.db.run(
        `INSERT INTO replication_keys (id, hlc, origin, owner, tombstone) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET hlc = excluded.hlc, origin = excluded.origin, owner = excluded.owner, tombstone = excluded.tombstone`,
        [id, hlc, this.popId, owner, current === undefined ? 1 : 0],
      );
    }
    return rows.length;
  }

  /** Stamped outbox rows, oldest change first, as the entries to publish. */
  pending(limit: number): OutboxItem[] {
    const rows = this.db.all(
      `SELECT o.id AS oid, o.n AS n, o.hlc AS ohlc, k.origin AS korigin, k.owner AS kowner, k.revision AS krev, b.*
       FROM replication_outbox o LEFT JOIN replication_keys k ON k.id = o.id LEFT JOIN backends b ON b.id = o.id
       WHERE o.hlc IS NOT NULL ORDER BY o.at_ms, o.id LIMIT ?`,
      [limit],
    );
    return rows.map((r) => ({
      id: String(r.oid),
      n: Number(r.n),
      revision: Number(r.krev ?? 0),
      entry: {
        id: String(r.oid),
        hlc: String(r.ohlc),
        origin: typeof r.korigin === "string" ? r.korigin : this.popId,
        owner: typeof r.kowner === "string" ? r.kowner : null,
        row: r.id === null || r.id === undefined ? null : replicatedRow(r),
      },
    }));
  }

  /** JetStream stored the item at `revision`: out of the outbox, unless the id changed again since. */
  published(item: OutboxItem, revision: number): void {
    this.publishedAll([{ item, revision }]);
  }

  /** Several acknowledged publishes in one transaction (a batch of the publisher). */
  publishedAll(acked: readonly { readonly item: OutboxItem; readonly revision: number }[]): void {
    if (acked.length === 0) return;
    inTransaction(this.db, "BEGIN IMMEDIATE", () => this.#published(acked));
  }

  /**
   * The publisher's one write per round: records the acknowledged publishes of the last round and
   * stamps the changes made since, in ONE transaction (under a burst of commits by another
   * connection the write lock is scarce). Returns how many changes it stamped.
   */
  settle(acked: readonly { readonly item: OutboxItem; readonly revision: number }[]): number {
    return inTransaction(this.db, "BEGIN IMMEDIATE", () => {
      this.#published(acked);
      return this.#stamp();
    });
  }

  #published(acked: readonly { readonly item: OutboxItem; readonly revision: number }[]): void {
    for (const { item, revision } of acked) {
      this.db.run("DELETE FROM replication_outbox WHERE id = ? AND n = ? AND hlc = ?", [item.id, item.n, item.entry.hlc]);
      this.db.run("UPDATE replication_keys SET revision = ? WHERE id = ? AND revision < ?", [revision, item.id, revision]);
    }
  }

  /**
   * Applies a version read from the bucket at `revision` with last-writer-wins against the local one
   * (a pending local change is stamped first, so it takes part). Records the revision as applied.
   */
  apply(entry: ReplicatedEntry, revision: number, advance = true): ApplyResult {
    return inTransaction(this.db, "BEGIN IMMEDIATE", () => {
      const result = this.#applyEntry(entry, revision);
      // A value read out of order (kv.get after a refused publish) must not move the watch position.
      if (advance) this.#setRevision(revision);
      return result;
    });
  }

  /**
   * Applies what the watcher delivered, in revision order, in ONE transaction (a catch-up of thousands
   * of entries costs one commit per batch, not per entry), and moves the applied revision to the last
   * one in the same transaction: a crash applies the whole batch again, never half of it.
   */
  applyBatch(changes: readonly WatchedChange[]): BatchResult {
    if (changes.length === 0) return { applied: 0, conflicts: 0, changed: false };
    return inTransaction(this.db, "BEGIN IMMEDIATE", () => {
      let applied = 0, conflicts = 0, changed = false, last = 0;
      for (const c of changes) {
        last = Math.max(last, c.revision);
        if (c.kind === "entry") {
          const r = this.#applyEntry(c.entry, c.revision);
          if (c.entry.origin !== this.popId) applied++;
          if (r.conflict) conflicts++;
          changed ||= r.changed;
        } else if (c.kind === "removed") {
          // A purged tombstone's marker removes nothing more (the tombstone did); `nats kv del` of a live key does.
          if (this.#applyRemoval(c.id, c.revision)) {
            applied++;
            changed = true;
          }
        }
      }
      this.#setRevision(last);
      return { applied, conflicts, changed };
    });
  }

  #applyEntry(entry: ReplicatedEntry, revision: number): ApplyResult {
    this.#stamp(entry.id);
    const incomingHlc = parseHlc(entry.hlc);
    if (incomingHlc !== null) this.#clock = observeHlc(this.#clock, incomingHlc);
    const known = this.db.get("SELECT hlc, origin FROM replication_keys WHERE id = ?", [entry.id]);
    const local = known === undefined ? null : { hlc: String(known.hlc), origin: String(known.origin) };
    const decision = mergeDecision(local, entry);
    const pendingLocal = this.#pending(entry.id);
    let changed = false;
    if (decision === "apply") {
      changed = this.#write(entry);
      // The trigger queued this write as a local change, and any unpublished local change lost: drop both.
      this.db.run("DELETE FROM replication_outbox WHERE id = ?", [entry.id]);
      this.db.run(
        `INSERT INTO replication_keys (id, hlc, origin, owner, tombstone, revision) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET hlc = excluded.hlc, origin = excluded.origin, owner = excluded.owner, tombstone = excluded.tombstone, revision = excluded.revision`,
        [entry.id, entry.hlc, entry.origin, entry.owner, entry.row === null ? 1 : 0, revision],
      );
    } else {
      this.db.run("UPDATE replication_keys SET revision = ? WHERE id = ? AND revision < ?", [revision, entry.id, revision]);
    }
    const conflict = decision === "keep" || (decision === "apply" && pendingLocal && local !== null && local.origin === this.popId);
    return { decision, conflict, changed };
  }

  /**
   * The key was deleted or purged in the bucket (a purged tombstone, or `nats kv del` by hand): the
   * backend is gone everywhere and the key forgets its stamp. A local change not yet published
   * survives (it is newer than anything this POP saw) and is published against the marker's revision.
   */
  #applyRemoval(id: string, revision: number): boolean {
    this.#stamp(id);
    if (this.#pending(id)) {
      this.db.run("UPDATE replication_keys SET revision = ? WHERE id = ?", [revision, id]);
      return false;
    }
    const changed = this.db.run("DELETE FROM backends WHERE id = ?", [id]) > 0;
    this.db.run("DELETE FROM replication_outbox WHERE id = ?", [id]); // the trigger queued the delete
    this.db.run("DELETE FROM replication_keys WHERE id = ?", [id]);
    return changed;
  }

  #pending(id: string): boolean {
    return this.db.get("SELECT 1 AS p FROM replication_outbox WHERE id = ?", [id]) !== undefined;
  }

  /** The bucket's last revision of a key, as a publish must expect it (0: the key holds nothing). */
  setKeyRevision(id: string, revision: number): void {
    this.db.run("UPDATE replication_keys SET revision = ? WHERE id = ?", [revision, id]);
  }

  /**
   * Tombstones stamped before `cutoffMs` that this POP saw in the bucket and has no newer local change
   * of: the ones the sweeper may purge, each with the revision the purge must find (oldest first).
   */
  expiredTombstones(cutoffMs: number, limit: number): { id: string; revision: number }[] {
    return this.db.all(
      `SELECT id, revision FROM replication_keys k WHERE tombstone = 1 AND revision > 0 AND hlc < ?
       AND NOT EXISTS (SELECT 1 FROM replication_outbox o WHERE o.id = k.id) ORDER BY revision LIMIT ?`,
      [formatHlc({ wallMs: Math.max(0, Math.floor(cutoffMs)), logical: 0 }), limit],
    ).map((r) => ({ id: String(r.id), revision: Number(r.revision) }));
  }

  /**
   * After an absence during which tombstones were purged (so their deletes can no longer be watched):
   * every key seen in the bucket up to `upToRevision` that is no longer there (`present` false) and has
   * no local change waiting is deleted here too. Returns the ids removed.
   */
  forgetAbsent(present: (id: string) => boolean, upToRevision: number): string[] {
    const rows = this.db.all(
      `SELECT id FROM replication_keys k WHERE revision > 0 AND revision <= ?
       AND NOT EXISTS (SELECT 1 FROM replication_outbox o WHERE o.id = k.id)`,
      [upToRevision],
    ).map((r) => String(r.id)).filter((id) => !present(id));
    if (rows.length === 0) return [];
    return inTransaction(this.db, "BEGIN IMMEDIATE", () => {
      const removed: string[] = [];
      for (const id of rows) {
        if (this.#pending(id)) continue;
        if (this.db.run("DELETE FROM replication_keys WHERE id = ? AND revision > 0 AND revision <= ?", [id, upToRevision]) === 0) continue;
        if (this.db.run("DELETE FROM backends WHERE id = ?", [id]) > 0) removed.push(id);
        this.db.run("DELETE FROM replication_outbox WHERE id = ?", [id]);
      }
      return removed;
    });
  }

  /** The purge watermark this POP last re-read the bucket's keys for (0: never). */
  reconciledThrough(): number {
    return Number(this.#meta(META_RECONCILED) ?? 0);
  }

  setReconciledThrough(revision: number): void {
    this.db.run("INSERT INTO store_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [META_RECONCILED, String(revision)]);
  }

  /** Records a revision as applied without an entry (a key that is not a backend's, a damaged value). */
  skip(revision: number): void {
    this.#setRevision(revision);
  }

  #setRevision(revision: number): void {
    this.db.run(
      "INSERT INTO store_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value WHERE CAST(value AS INTEGER) < CAST(excluded.value AS INTEGER)",
      [META_REVISION, String(revision)],
    );
  }

  /** Writes the incoming row (or deletes it); false when routing.db already held exactly that. */
  #write(entry: ReplicatedEntry): boolean {
    const stored = this.db.get("SELECT * FROM backends WHERE id = ?", [entry.id]);
    const current: ReplicatedRow | null = stored === undefined ? null : replicatedRow(stored);
    if (entry.row === null) return this.db.run("DELETE FROM backends WHERE id = ?", [entry.id]) > 0;
    if (sameRow(current, entry.row) && stored?.origin === entry.origin) return false;
    const values = [...REPLICATED_COLUMNS.map((c) => entry.row![c]), entry.origin];
    const updates = INSERT_COLUMNS.filter((c) => c !== "id").map((c) => `${c} = excluded.${c}`).join(", ");
    this.db.run(`INSERT INTO backends (${INSERT_COLUMNS.join(", ")}) VALUES (${INSERT_COLUMNS.map(() => "?").join(", ")}) ON CONFLICT (id) DO UPDATE SET ${updates}`, values);
    return true;
  }

  /**
   * Soft-deletes the live backends registered at a POP for which `gone(owner)` holds (their heartbeats
   * can no longer arrive anywhere); a local change, so it replicates. Returns their ids.
   */
  expireOrphans(gone: (owner: string) => boolean, nowMs: number): string[] {
    const rows = this.db.all(
      `SELECT b.id AS id, k.owner AS owner FROM backends b JOIN replication_keys k ON k.id = b.id
       WHERE k.owner IS NOT NULL AND k.owner <> ? AND (b.deleted IS NULL OR b.deleted = 0)`,
      [this.popId],
    ).filter((r) => gone(String(r.owner)));
    if (rows.length === 0) return [];
    return inTransaction(this.db, "BEGIN IMMEDIATE", () => {
      const ids: string[] = [];
      for (const r of rows) {
        if (this.db.run("UPDATE backends SET deleted = 1, source = 'replication', origin = NULL, updated_at = ? WHERE id = ? AND (deleted IS NULL OR deleted = 0)", [nowMs, String(r.id)]) > 0) ids.push(String(r.id));
      }
      return ids;
    });
  }

  /** The newest stamp known here (tests and the status view). */
  get clock(): Hlc {
    return this.#clock;
  }

  #meta(key: string): string | null {
    const row = this.db.get("SELECT value FROM store_meta WHERE key = ?", [key]);
    return row === undefined ? null : String(row.value);
  }

  close(): void {
    this.db.close();
  }
}

// The replication side of one POP's routing.db: the outbox of local changes (filled by a trigger on
// the change log, migrations.ts steps 3 and 4), the stamp of every replicated key (replication_keys: HLC,
// origin, owner, tombstone, last bucket revision seen) and the last applied bucket revision
// (store_meta). Its own connection; every write is one short transaction (a watched batch: one
// transaction of at most a few hundred entries).
//
// Publishing needs no write lock. Another connection committing in a tight loop (a script, a bulk
// import) holds routing.db's write lock almost without a break; in WAL mode reads never wait, so the
// publisher reads the outbox, stamps new changes in memory, publishes them at once, and records
// stamps and acknowledgements later, in whichever write transaction gets the lock first:
//
//   outbox row (id, n, hlc NULL) ──read (no lock)──► stamp in memory (#stamps) ──► publish (CAS on the
//   key's last revision: #revisions, else replication_keys) ──ack──► #acks, #revisions
//   every write transaction first writes the in-memory state (#stamps, #acks, #revisions) of the keys
//   it touches, whole, plus a chunk of FLUSH_CHUNK other keys (#flush), so LWW decisions and the outbox
//   delete (which matches id, n and hlc) see exactly what was published; record() is such a transaction
//   on its own (no keys of its own: one chunk), tried without waiting for the lock, or waiting up to
//   RECORD_WAIT_MS once the backlog passes UNRECORDED_HIGH (replicator.ts tick).
//   this POP's own publishes coming back from the watch (echoes) need no transaction: their revisions go
//   to #revisions and the watch position to #revisionAhead, written by the next write transaction
//   (which writes #revisionAhead whole, whatever chunk of keys it flushes).
//
// Why flushing only some keys keeps LWW right: every decision is per key. Applying, merging or removing
// key K reads and writes only K's rows (backends, replication_outbox, replication_keys of K), and K's
// in-memory stamp, ack and revision are written first, in the same transaction; a key left in memory
// is, in routing.db, exactly as after a crash that lost it (handled below), and in memory it still
// answers pending() and #isOwnEcho. The few transactions that read many keys at once (resetBucket,
// forgetAbsent, stampPending) write everything first, as before.
//
// Crash between publish and record: an acknowledged CLI/API write is never lost. Its outbox row (filled
// by a trigger in the writer's own transaction) leaves the outbox only when an ack of exactly that
// (id, n, stamp) is recorded, or when a later version from elsewhere wins LWW over it. A POP that dies
// with stamps or acks only in memory finds the rows still in its outbox on restart, stamps them again
// and publishes them again, expecting the revision it had recorded: the bucket moved on (its own
// unrecorded publish is there), so the publish is refused and what is there is merged
// (replicator.ts #publishOne; the watcher delivers it too unless the watch position written before the
// crash was already past it: #revisionAhead moves with echoes whose keys were not flushed). No stamp is handed out twice: every write
// transaction persists the clock (store_meta replication_clock), and the restarted clock begins in a
// millisecond after both it and the newest unstamped change (core/hlc.ts restartHlc), the only sources
// of the stamps lost from memory. So a new stamp is later than the lost one; should a version of this
// POP's own still come back not older than its pending change and holding other values (a wall clock
// set back across the restart), it is not LWW-merged: the pending change is newer by construction (this
// POP published that version from its own rows, and every later local edit left a pending change), so
// it stays and is stamped after it (#applyEntry). An echo is recognised by its stamp AND its values
// (#isOwnEcho), never by the stamp alone. Either way the bucket ends holding the POP's latest rows.
import { formatHlc, nextHlc, observeHlc, parseHlc, restartHlc, ZERO_HLC, type Hlc } from "../core/hlc.ts";
import { compareStamps, mergeDecision, type Merge } from "../core/lww.ts";
import { inTransaction, openSqlConnection, type SqlConnection } from "../store/sql-connection.ts";
import { migrate, REPLICATION_APPLYING } from "../store/migrations.ts";
import { isLockBusy } from "../store/store-errors.ts";
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

/** A stamp given in memory and not yet written to routing.db (see the header), with the values it
 *  was published with (its echo from the bucket is recognised by both). */
interface MemoryStamp {
  readonly n: number;
  readonly hlc: string;
  readonly owner: string | null;
  readonly row: ReplicatedRow | null;
}

/** Own publishes of a key whose stamps (and acks) were written, with the key's revision written with them (0: none). */
interface RecordedPublish {
  readonly published: readonly MemoryStamp[];
  readonly revision: number;
}

/** Busy timeout of the ordinary write transactions: short, they run on the event loop. */
const WRITE_BUSY_MS = 50;
/** Keys of in-memory state a write transaction writes besides its own: what the event loop pays for
 *  the backlog left while another connection held the lock is bounded per transaction. */
export const FLUSH_CHUNK = 1000;
/** Unrecorded entries past which record() is worth waiting for the lock a little (see RECORD_WAIT_MS). */
export const UNRECORDED_HIGH = 2000;
/** How long record() waits for the lock past UNRECORDED_HIGH (once per tick): a connection committing
 *  in a tight loop releases it between commits, and the backlog then drains a chunk per tick. */
export const RECORD_WAIT_MS = 5;

/** Own publishes remembered after their stamp was written (their echo needs no write, applyBatch). */
const RECENT_KEEP = 8192;

const META_REVISION = "replication_revision";
const META_STREAM = "replication_stream";
const META_RECONCILED = "replication_reconciled";
/** The HLC as of the last write transaction: a restart begins after it (see the header). */
const META_CLOCK = "replication_clock";
const INSERT_COLUMNS = [...REPLICATED_COLUMNS, "origin"];
/** A remote row written exactly as the bucket holds it, timestamps included (replication's own write,
 *  kept out of the outbox: #applyingTransaction). It gives the row its next version itself, as the stamp and bump
 *  triggers would (change-triggers.ts; a version set by the writer is kept), which spares them their
 *  nested UPDATE of the row just written. */
const UPSERT_BACKEND = `INSERT INTO backends (${INSERT_COLUMNS.join(", ")}, version)
  VALUES (${INSERT_COLUMNS.map(() => "?").join(", ")}, COALESCE((SELECT MAX(version) FROM backend_changes WHERE id = ?1), 0) + 1)
  ON CONFLICT (id) DO UPDATE SET ${INSERT_COLUMNS.filter((c) => c !== "id").map((c) => `${c} = excluded.${c}`).join(", ")}, version = backends.version + 1`;
/** Where a key's recorded revision may move to the bucket revision `param` (a SQL parameter) of its
 *  own publish: forward only, except to 0 (the key was purged); an ack may come after a newer version
 *  was applied. */
const OWN_REVISION_MOVES = (param: string) => `(revision < ${param} OR ${param} = 0)`;
/** Everything LWW needs of one key, in one read: its outbox row, its stamp, its row. */
const KEY_STATE = `SELECT o.id AS o_id, o.hlc AS o_hlc, k.hlc AS k_hlc, k.origin AS k_origin, k.owner AS k_owner, b.*
  FROM (SELECT ? AS qid) q LEFT JOIN replication_outbox o ON o.id = q.qid LEFT JOIN replication_keys k ON k.id = q.qid LEFT JOIN backends b ON b.id = q.qid`;

export class ReplicaDb {
  #clock: Hlc = ZERO_HLC;
  /** Stamped here (published or about to be), not yet in routing.db. */
  #stamps = new Map<string, MemoryStamp>();
  /** Acknowledged by JetStream, not yet out of the outbox: never published again meanwhile. */
  #acks = new Map<string, MemoryStamp>();
  /** The key's last bucket revision as known here, newer than routing.db's (acks, refused publishes). */
  #revisions = new Map<string, number>();
  /** Ids whose outbox row may need publishing: new changes (read from the change log), refused publishes;
   *  each with when it was last noticed (#noticed then: an ack drops the id only if no newer change came). */
  #dirty = new Map<string, number>();
  /** Own publishes whose stamp and ack are written already (the newest RECENT_KEEP): their echo is
   *  recognised without reading routing.db. */
  #recent = new Map<string, RecordedPublish>();
  /** Bucket revision applied (watched) beyond the one in routing.db: written by the next write transaction. */
  #revisionAhead = 0;
  /** Ids handed out by pending(), with when they were last noticed then (see acknowledge). */
  #offered = new Map<string, number>();
  #noticed = 0;
  /** Last change-log entry read; null: read the whole outbox (at start, after a reset or a gap). */
  #changeSeq: number | null = null;
  #busyMs = -1;
  /** The clock as persisted in store_meta (written again only when it moved). */
  #savedClock: string | null = null;

  private readonly db: SqlConnection;
  readonly popId: string;
  readonly writeBusyMs: number;
  private constructor(db: SqlConnection, popId: string, writeBusyMs: number) {
    this.db = db;
    this.popId = popId;
    this.writeBusyMs = writeBusyMs;
    // After every stamp handed out before (a crash may have lost some from memory): see the header.
    const saved = this.#meta(META_CLOCK);
    const recorded = db.get("SELECT MAX(hlc) AS hlc FROM replication_keys")?.hlc;
    const unstamped = db.get("SELECT MAX(at_ms) AS at FROM replication_outbox WHERE hlc IS NULL")?.at;
    let persisted = ZERO_HLC;
    for (const text of [saved, recorded]) {
      const h = typeof text === "string" ? parseHlc(text) : null;
      if (h !== null) persisted = observeHlc(persisted, h);
    }
    this.#savedClock = saved;
    this.#clock = restartHlc(persisted, unstamped === null || unstamped === undefined ? null : Number(unstamped));
  }

  /** Opens (and migrates) routing.db. A short busy timeout: this runs on the data path's thread. */
  static open(path: string, popId: string, busyTimeoutMs = WRITE_BUSY_MS): ReplicaDb {
    const db = openSqlConnection(path);
    try {
      db.exec(`PRAGMA busy_timeout = ${Math.max(busyTimeoutMs, 200)}`); // migrations: once, at start
      db.get("PRAGMA journal_mode = WAL");
      db.exec("PRAGMA synchronous = NORMAL");
      migrate(db);
    } catch (err) {
      db.close();
      throw err;
    }
    return new ReplicaDb(db, popId, busyTimeoutMs);
  }

  /**
   * BEGIN IMMEDIATE … COMMIT around `fn`, after writing what is only in memory of the keys `fn` reads
   * or writes (`touched`; "all": every key) and of a chunk of others (#flush): `fn` sees the stamps and
   * acks of what was published. `waitMs`: how long to wait for the write lock (0: fail at once with
   * SQLITE_BUSY, the caller tries again later).
   */
  #transaction<T>(fn: () => T, waitMs = this.writeBusyMs, touched: Iterable<string> | "all" = "all"): T {
    if (this.#busyMs !== waitMs) {
      this.db.exec(`PRAGMA busy_timeout = ${waitMs}`);
      this.#busyMs = waitMs;
    }
    const clockBefore = this.#clock;
    let saved = this.#savedClock;
    let result: T;
    let flushed: ReadonlySet<string> = new Set();
    try {
      result = inTransaction(this.db, "BEGIN IMMEDIATE", () => {
        flushed = this.#keysToFlush(touched);
        this.#flush(flushed);
        if (this.#revisionAhead > 0) this.#setRevision(this.#revisionAhead);
        const r = fn();
        saved = this.#saveClock();
        return r;
      });
    } catch (err) {
      // Rolled back: a stamp seen inside it is not persisted, so the clock must not keep it (the
      // stamps handed out next would be ahead of what a restart begins after).
      this.#clock = clockBefore;
      throw err;
    }
    this.#savedClock = saved;
    // Committed: what was written is in routing.db now (nothing ran in between: `fn` is synchronous).
    for (const id of flushed) {
      const published = [this.#acks.get(id), this.#stamps.get(id)].filter((m) => m !== undefined);
      if (published.length > 0) this.#remember(id, { published, revision: this.#revisions.get(id) ?? 0 });
      this.#stamps.delete(id);
      this.#acks.delete(id);
      this.#revisions.delete(id);
    }
    this.#revisionAhead = 0;
    return result;
  }

  /** Keeps the newest RECENT_KEEP own publishes recorded (their echo is recognised in memory). */
  #remember(id: string, recorded: RecordedPublish): void {
    this.#recent.delete(id);
    this.#recent.set(id, recorded);
    if (this.#recent.size > RECENT_KEEP) this.#recent.delete(this.#recent.keys().next().value!);
  }

  /** Persists the clock if it moved (inside a write transaction, last); returns it as written. */
  #saveClock(): string {
    const text = formatHlc(this.#clock);
    if (text !== this.#savedClock) {
      this.db.run("INSERT INTO store_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value WHERE value < excluded.value", [META_CLOCK, text]);
    }
    return text;
  }

  /** The keys a transaction writes the in-memory state of: those it touches (held in memory), then
   *  the oldest others up to FLUSH_CHUNK; "all": every one. */
  #keysToFlush(touched: Iterable<string> | "all"): Set<string> {
    if (touched === "all") return new Set([...this.#stamps.keys(), ...this.#acks.keys(), ...this.#revisions.keys()]);
    const keys = new Set<string>();
    for (const id of touched) if (this.#stamps.has(id) || this.#acks.has(id) || this.#revisions.has(id)) keys.add(id);
    let room = FLUSH_CHUNK;
    for (const map of [this.#stamps, this.#acks, this.#revisions]) {
      for (const id of map.keys()) {
        if (room <= 0) return keys;
        if (!keys.has(id)) {
          keys.add(id);
          room--;
        }
      }
    }
    return keys;
  }

  /** Writes the in-memory stamp, then ack and revision, of each of `keys` (inside a write transaction). */
  #flush(keys: ReadonlySet<string>): void {
    for (const id of keys) {
      const s = this.#stamps.get(id), a = this.#acks.get(id), revision = this.#revisions.get(id);
      if (s !== undefined && a !== undefined && a.n === s.n && a.hlc === s.hlc) {
        // Stamped and acknowledged since the last write (the usual case): the change leaves the outbox
        // if it is still that change, whether or not its stamp was written (a newer one stays).
        this.db.run("DELETE FROM replication_outbox WHERE id = ? AND n = ? AND (hlc IS NULL OR hlc = ?)", [id, a.n, a.hlc]);
      } else {
        // The outbox row gets its stamp if it is still that change (a newer one is stamped later, after it).
        if (s !== undefined) this.db.run("UPDATE replication_outbox SET hlc = ? WHERE id = ? AND n = ? AND hlc IS NULL", [s.hlc, id, s.n]);
        if (a !== undefined) this.db.run("DELETE FROM replication_outbox WHERE id = ? AND n = ? AND hlc = ?", [id, a.n, a.hlc]);
      }
      if (s !== undefined) this.#writeOwnStamp(id, s.hlc, s.owner, s.row === null, revision);
      else if (revision !== undefined) this.db.run(`UPDATE replication_keys SET revision = ?1 WHERE id = ?2 AND ${OWN_REVISION_MOVES("?1")}`, [revision, id]);
    }
  }

  /** Stamps, acks and revisions held in memory only (record() writes them). */
  get unrecorded(): number {
    return this.#stamps.size + this.#acks.size + this.#revisions.size + (this.#revisionAhead > 0 ? 1 : 0);
  }

  /**
   * Writes in-memory stamps and acks to routing.db, FLUSH_CHUNK keys of them (the oldest), if the
   * write lock is free within `waitMs` (default: not at all). False when it was busy: they stay in
   * memory for the next try. What is left waits for the next call (or any write transaction).
   */
  record(waitMs = 0): boolean {
    if (this.unrecorded === 0) return true;
    try {
      this.#transaction(() => {}, waitMs, []);
      return true;
    } catch (err) {
      if (isLockBusy(err)) return false;
      throw err;
    }
  }

  /** Changes whenever another connection (CLI, API, sqlite3, the route sync) committed to the file. */
  dataVersion(): number {
    return Number(this.db.get("PRAGMA data_version")?.data_version ?? 0);
  }

  outboxDepth(): number {
    return Number(this.db.get("SELECT COUNT(*) AS n FROM replication_outbox")?.n ?? 0);
  }

  appliedRevision(): number {
    return Math.max(Number(this.#meta(META_REVISION) ?? 0), this.#revisionAhead);
  }

  /** Identity of the bucket's stream the applied revision belongs to (its creation time). */
  streamIdentity(): string | null {
    return this.#meta(META_STREAM);
  }

  setStreamIdentity(identity: string): void {
    this.#transaction(() => this.#setMeta(META_STREAM, identity), this.writeBusyMs, []);
  }

  /**
   * The bucket was reset (or is another one): forget its revisions and queue every key known here,
   * with its current stamp, so the new bucket receives them (compare-and-set sorts out the rest).
   */
  resetBucket(identity: string): void {
    this.#transaction(() => {
      this.db.run("UPDATE replication_keys SET revision = 0");
      this.db.run("DELETE FROM store_meta WHERE key IN (?, ?)", [META_REVISION, META_RECONCILED]);
      this.#setMeta(META_STREAM, identity);
      this.db.run(`INSERT INTO replication_outbox (id, at_ms, hlc) SELECT k.id, 0, k.hlc FROM replication_keys k WHERE true
        ON CONFLICT (id) DO NOTHING`);
      this.db.run(`INSERT INTO replication_outbox (id, at_ms) SELECT id, COALESCE(updated_at, 0) FROM backends WHERE true ON CONFLICT (id) DO NOTHING`);
    });
    this.#changeSeq = null; // rows queued without the change log: read the whole outbox
  }

  /** Gives every unstamped outbox row its HLC stamp (at the time of the change); returns how many. */
  stampPending(onlyId?: string): number {
    return this.#transaction(() => this.#stamp(onlyId));
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
      const owner = this.#ownerOf(current !== undefined && current.last_heartbeat_ms !== null, known?.owner);
      this.db.run("UPDATE replication_outbox SET hlc = ? WHERE id = ?", [hlc, id]);
      this.#writeOwnStamp(id, hlc, owner, current === undefined);
    }
    return rows.length;
  }

  /** The key's stamp is one this POP gave; its revision moves to `revision` if given (OWN_REVISION_MOVES),
   *  else stays. */
  #writeOwnStamp(id: string, hlc: string, owner: string | null, tombstone: boolean, revision?: number): void {
    this.db.run(
      `INSERT INTO replication_keys (id, hlc, origin, owner, tombstone, revision) VALUES (?, ?, ?, ?, ?, COALESCE(?6, 0))
       ON CONFLICT (id) DO UPDATE SET hlc = excluded.hlc, origin = excluded.origin, owner = excluded.owner, tombstone = excluded.tombstone,
         revision = CASE WHEN ?6 IS NOT NULL AND ${OWN_REVISION_MOVES("?6")} THEN ?6 ELSE revision END`,
      [id, hlc, this.popId, owner, tombstone ? 1 : 0, revision ?? null],
    );
  }

  /** Registered here (heartbeats arrive here) → this POP owns its expiry; else the owner it had. */
  #ownerOf(heartbeatsHere: boolean, knownOwner: unknown): string | null {
    if (heartbeatsHere) return this.popId;
    return typeof knownOwner === "string" && knownOwner !== this.popId ? knownOwner : null;
  }

  /**
   * Reads the local changes committed since the last call (the change log, by sequence; the whole
   * outbox at the first call, after a reset, or when the log was pruned past the last one read) and
   * notes their ids for pending(). Read-only: never waits for the write lock. Returns how many changes
   * it read, also those of keys already waiting (a second edit of one backend changes the routes too).
   */
  noticeChanges(): number {
    if (this.#changeSeq !== null) {
      const rows = this.db.all(
        `SELECT c.seq AS seq, c.id AS id, EXISTS (SELECT 1 FROM replication_outbox o WHERE o.id = c.id) AS queued
         FROM backend_changes c WHERE c.seq > ? ORDER BY c.seq`,
        [this.#changeSeq],
      );
      const contiguous = rows.length > 0 ? Number(rows[0]!.seq) === this.#changeSeq + 1
        : Number(this.db.get("SELECT COALESCE(MAX(seq), 0) AS seq FROM backend_changes")?.seq ?? 0) >= this.#changeSeq; // not renumbered
      if (contiguous) {
        let read = 0;
        for (const r of rows) {
          if (Number(r.queued) !== 1) continue; // out of the outbox already: replication's own write
          this.#markDirty(String(r.id));
          read++;
        }
        if (rows.length > 0) this.#changeSeq = Number(rows[rows.length - 1]!.seq);
        return read;
      }
      // A gap: entries were pruned (or removed, renumbered by hand) before they were read.
    }
    // The sequence first: a change committed between the two reads is read again later, never missed.
    this.#changeSeq = Number(this.db.get("SELECT COALESCE(MAX(seq), 0) AS seq FROM backend_changes")?.seq ?? 0);
    const queued = this.db.all("SELECT id FROM replication_outbox ORDER BY at_ms, id");
    for (const r of queued) this.#markDirty(String(r.id));
    return queued.length;
  }

  /** A change of `id` to publish was noticed (again). */
  #markDirty(id: string): void {
    this.#dirty.set(id, ++this.#noticed);
  }

  /** Whether a change of `id` waits to be published (as far as noticed). */
  waitsToPublish(id: string): boolean {
    return this.#dirty.has(id);
  }

  /** Whether local changes wait to be published (as far as noticed). */
  get hasUnpublished(): boolean {
    return this.#dirty.size > 0;
  }

  /**
   * The local changes to publish, oldest first: outbox rows not published yet (or published and
   * refused), each with its stamp: the recorded one, else one given now in memory (see the header).
   * Read-only (one SELECT): never waits for the write lock. The same items come back until acknowledged.
   * `busy`: ids left out (being published).
   */
  pending(limit: number, busy: (id: string) => boolean = () => false): OutboxItem[] {
    this.noticeChanges();
    if (this.#dirty.size === 0) return [];
    const ids: string[] = [];
    for (const id of this.#dirty.keys()) {
      if (busy(id)) continue;
      ids.push(id);
      if (ids.length >= limit) break;
    }
    if (ids.length === 0) return [];
    const rows = this.db.all(
      `SELECT o.id AS oid, o.n AS n, o.hlc AS ohlc, o.at_ms AS at_ms, k.origin AS korigin, k.owner AS kowner, k.revision AS krev, b.*
       FROM replication_outbox o LEFT JOIN replication_keys k ON k.id = o.id LEFT JOIN backends b ON b.id = o.id
       WHERE o.id IN (SELECT value FROM json_each(?)) ORDER BY o.at_ms, o.id`,
      [JSON.stringify(ids)],
    );
    const found = new Set<string>();
    const items: OutboxItem[] = [];
    for (const r of rows) {
      const id = String(r.oid), n = Number(r.n);
      found.add(id);
      const exists = r.id !== null && r.id !== undefined;
      const row = exists ? replicatedRow(r) : null;
      let hlc: string, origin: string, owner: string | null;
      if (r.ohlc === null || r.ohlc === undefined) {
        let s = this.#stamps.get(id);
        if (s === undefined || s.n !== n) {
          this.#clock = nextHlc(this.#clock, Number(r.at_ms));
          s = { n, hlc: formatHlc(this.#clock), owner: this.#ownerOf(exists && r.last_heartbeat_ms !== null, r.kowner), row };
          this.#stamps.set(id, s);
        }
        [hlc, origin, owner] = [s.hlc, this.popId, s.owner];
      } else {
        [hlc, origin, owner] = [String(r.ohlc), typeof r.korigin === "string" ? r.korigin : this.popId, typeof r.kowner === "string" ? r.kowner : null];
      }
      const ack = this.#acks.get(id);
      if (ack !== undefined && ack.n === n && ack.hlc === hlc) {
        this.#dirty.delete(id); // published; out of the outbox at the next record
        continue;
      }
      items.push({ id, n, revision: this.#expectedRevision(id, Number(r.krev ?? 0)), entry: { id, hlc, origin, owner, row } });
      this.#offered.set(id, this.#dirty.get(id) ?? 0);
    }
    for (const id of ids) {
      if (found.has(id)) continue;
      this.#dirty.delete(id); // no longer queued
      this.#offered.delete(id);
    }
    return items;
  }

  /** JetStream stored the item at `revision` (in memory; record() or the next write transaction writes it). */
  acknowledge(item: OutboxItem, revision: number): void {
    this.#acks.set(item.id, { n: item.n, hlc: item.entry.hlc, owner: item.entry.owner, row: item.entry.row });
    this.#revisions.set(item.id, Math.max(revision, this.#revisions.get(item.id) ?? 0));
    // Published: nothing left to publish of it, unless a newer change was noticed since it was read.
    if (this.#offered.get(item.id) === this.#dirty.get(item.id)) this.#dirty.delete(item.id);
    this.#offered.delete(item.id);
  }

  /** The revision a publish of `id` expects: the newest known (0, set after a purge, means "create"). */
  #expectedRevision(id: string, recorded: number): number {
    const known = this.#revisions.get(id);
    return known === undefined ? recorded : known === 0 ? 0 : Math.max(known, recorded);
  }

  /** Acknowledged and recorded at once, waiting for the write lock (tests). */
  published(item: OutboxItem, revision: number): void {
    this.acknowledge(item, revision);
    this.#transaction(() => {});
  }

  /**
   * Applies a version read from the bucket at `revision` with last-writer-wins against the local one
   * (a pending local change is stamped first, so it takes part). Records the revision as applied.
   */
  apply(entry: ReplicatedEntry, revision: number, advance = true): ApplyResult {
    return this.#applyingTransaction(() => {
      const result = this.#applyEntry(entry, revision);
      // A value read out of order (kv.get after a refused publish) must not move the watch position.
      if (advance) this.#setRevision(revision);
      return result;
    }, this.writeBusyMs, [entry.id]);
  }

  /**
   * Merges versions read out of order (kv.get after a refused publish) by LWW, in one transaction,
   * without moving the applied revision. `waitMs` 0 (the default): SQLITE_BUSY at once when another
   * connection holds the write lock; the caller keeps them and tries again later.
   */
  merge(fetched: readonly { readonly entry: ReplicatedEntry; readonly revision: number }[], waitMs = 0): BatchResult {
    if (fetched.length === 0) return { applied: 0, conflicts: 0, changed: false };
    return this.#applyingTransaction(() => {
      let applied = 0, conflicts = 0, changed = false;
      for (const f of fetched) {
        const r = this.#applyEntry(f.entry, f.revision);
        if (f.entry.origin !== this.popId) applied++;
        if (r.conflict) conflicts++;
        changed ||= r.changed;
      }
      return { applied, conflicts, changed };
    }, waitMs, fetched.map((f) => f.entry.id));
  }

  /**
   * Applies what the watcher delivered, in revision order, in ONE transaction (a catch-up of thousands
   * of entries costs one commit per batch, not per entry), and moves the applied revision to the last
   * one in the same transaction: a crash applies the whole batch again, never half of it. A batch of
   * this POP's own publishes only takes no transaction (below).
   */
  applyBatch(changes: readonly WatchedChange[], waitMs = this.writeBusyMs): BatchResult {
    if (changes.length === 0) return { applied: 0, conflicts: 0, changed: false };
    if (changes.every((c) => c.kind === "skip" || (c.kind === "entry" && this.#isOwnEcho(c.entry)))) {
      // Only this POP's own publishes coming back (a burst at this POP returns thousands of these):
      // nothing to merge; their revisions (unless written already with their ack) and the watch position
      // are kept in memory and written by the next write transaction. Lost in a crash, the key is at
      // worst published again expecting an older revision: refused, merged, published again (header).
      for (const c of changes) {
        if (c.kind === "entry" && (this.#recent.get(c.entry.id)?.revision ?? 0) < c.revision) this.#noteRevision(c.entry.id, c.revision);
        this.#revisionAhead = Math.max(this.#revisionAhead, c.revision);
      }
      return { applied: 0, conflicts: 0, changed: false };
    }
    return this.#applyingTransaction(() => {
      let applied = 0, conflicts = 0, changed = false, last = 0;
      for (const c of changes) {
        last = Math.max(last, c.revision);
        if (c.kind === "entry" && this.#isOwnEcho(c.entry)) {
          // Nothing to merge (see above); the revision written here, after the flush of the key's stamp
          // (noted in memory, it would be dropped with what the flush wrote).
          this.#raiseRevision(c.entry.id, c.revision);
        } else if (c.kind === "entry") {
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
    }, waitMs, changes.flatMap((c) => c.kind === "entry" ? [c.entry.id] : c.kind === "removed" ? [c.id] : []));
  }

  /** A version this POP published since it started: its stamp or ack is in memory (not recorded yet, or
   *  recorded recently: #recent), with the same values (a stamp alone could be a version lost in a
   *  crash; see the header). Merging it would change nothing but the key's revision. */
  #isOwnEcho(entry: ReplicatedEntry): boolean {
    if (entry.origin !== this.popId) return false;
    const same = (m: MemoryStamp | undefined) => m !== undefined && m.hlc === entry.hlc && m.owner === entry.owner && sameRow(m.row, entry.row);
    return same(this.#stamps.get(entry.id)) || same(this.#acks.get(entry.id)) || (this.#recent.get(entry.id)?.published.some(same) ?? false);
  }

  /** The key is at `revision` in the bucket, written now (inside a write transaction; only forward). */
  #raiseRevision(id: string, revision: number): void {
    this.db.run("UPDATE replication_keys SET revision = ? WHERE id = ? AND revision < ?", [revision, id, revision]);
  }

  /** The key is at `revision` in the bucket (in memory, written by the next write transaction; only forward). */
  #noteRevision(id: string, revision: number): void {
    const known = this.#revisions.get(id);
    if (known === undefined || (known !== 0 && known < revision)) this.#revisions.set(id, revision);
  }

  /** #transaction() as replication's own write: the rows `fn` changes are not queued in the outbox
   *  (migrations.ts step 4: the trigger skips while REPLICATION_APPLYING is set). */
  #applyingTransaction<T>(fn: () => T, waitMs = this.writeBusyMs, touched: Iterable<string> | "all" = "all"): T {
    return this.#transaction(() => {
      // Its value changes, the row stays: no index page written (the row is there after the first time).
      this.#setMeta(REPLICATION_APPLYING, "1");
      const result = fn();
      this.#setMeta(REPLICATION_APPLYING, "0");
      return result;
    }, waitMs, touched);
  }

  #applyEntry(entry: ReplicatedEntry, revision: number): ApplyResult {
    let state = this.db.get(KEY_STATE, [entry.id])!;
    if (state.o_id !== null && state.o_hlc === null) {
      this.#stamp(entry.id); // a local change not stamped yet takes part, stamped first
      state = this.db.get(KEY_STATE, [entry.id])!;
    }
    const incomingHlc = parseHlc(entry.hlc);
    if (incomingHlc !== null) this.#clock = observeHlc(this.#clock, incomingHlc);
    const local = state.k_hlc === null ? null : { hlc: String(state.k_hlc), origin: String(state.k_origin) };
    const stored = state.id === null ? null : replicatedRow(state);
    const pendingLocal = state.o_id !== null;
    const own = entry.origin === this.popId;
    if (own && pendingLocal && local !== null && compareStamps(entry, local) >= 0 && !this.#holds(entry, stored, state.k_owner)) {
      // This POP published that version before a crash lost the record of its stamp; its pending
      // change is newer (see the header): it stays, stamped after that version, and is published.
      this.db.run("UPDATE replication_outbox SET hlc = NULL WHERE id = ?", [entry.id]);
      this.#stamp(entry.id); // the clock has seen entry.hlc: the new stamp is later
      this.#raiseRevision(entry.id, revision);
      this.#markDirty(entry.id);
      return { decision: "keep", conflict: false, changed: false };
    }
    const decision = mergeDecision(local, entry);
    let changed = false;
    if (decision === "apply") {
      changed = this.#write(entry, stored, state.origin);
      // An unpublished local change lost: it leaves the outbox (this write itself was not queued: #applyingTransaction).
      if (pendingLocal) this.db.run("DELETE FROM replication_outbox WHERE id = ?", [entry.id]);
      this.db.run(
        `INSERT INTO replication_keys (id, hlc, origin, owner, tombstone, revision) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET hlc = excluded.hlc, origin = excluded.origin, owner = excluded.owner, tombstone = excluded.tombstone, revision = excluded.revision`,
        [entry.id, entry.hlc, entry.origin, entry.owner, entry.row === null ? 1 : 0, revision],
      );
    } else {
      this.#raiseRevision(entry.id, revision);
    }
    // A version of this POP's own that lost (an echo of an older publish) is no conflict.
    const conflict = !own && (decision === "keep" || (decision === "apply" && pendingLocal && local !== null && local.origin === this.popId));
    return { decision, conflict, changed };
  }

  /** routing.db holds exactly the values of `entry` (row `stored` and owner). */
  #holds(entry: ReplicatedEntry, stored: ReplicatedRow | null, knownOwner: unknown): boolean {
    return sameRow(stored, entry.row) && (typeof knownOwner === "string" ? knownOwner : null) === entry.owner;
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
    const changed = this.db.run("DELETE FROM backends WHERE id = ?", [id]) > 0; // not queued: #applyingTransaction
    this.db.run("DELETE FROM replication_keys WHERE id = ?", [id]);
    return changed;
  }

  #pending(id: string): boolean {
    return this.db.get("SELECT 1 AS p FROM replication_outbox WHERE id = ?", [id]) !== undefined;
  }

  /** The bucket's last revision of a key, as a publish must expect it (0: the key holds nothing).
   *  In memory (no write lock); written with the next write transaction. */
  setKeyRevision(id: string, revision: number): void {
    this.#revisions.set(id, revision);
    this.#markDirty(id);
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
    return this.#applyingTransaction(() => {
      const removed: string[] = [];
      for (const id of rows) {
        if (this.#pending(id)) continue;
        if (this.db.run("DELETE FROM replication_keys WHERE id = ? AND revision > 0 AND revision <= ?", [id, upToRevision]) === 0) continue;
        if (this.db.run("DELETE FROM backends WHERE id = ?", [id]) > 0) removed.push(id); // not queued: #applyingTransaction
      }
      return removed;
    });
  }

  /** The purge watermark this POP last re-read the bucket's keys for (0: never). */
  reconciledThrough(): number {
    return Number(this.#meta(META_RECONCILED) ?? 0);
  }

  setReconciledThrough(revision: number): void {
    this.#transaction(() => this.#setMeta(META_RECONCILED, String(revision)), this.writeBusyMs, []);
  }

  /** Records a revision as applied without an entry (a key that is not a backend's, a damaged value). */
  skip(revision: number): void {
    this.#transaction(() => this.#setRevision(revision), this.writeBusyMs, []);
  }

  #setRevision(revision: number): void {
    this.db.run(
      "INSERT INTO store_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value WHERE CAST(value AS INTEGER) < CAST(excluded.value AS INTEGER)",
      [META_REVISION, String(revision)],
    );
  }

  /** Writes the incoming row (or deletes it) over `stored` (stamped by `storedOrigin`); false when
   *  routing.db already held exactly that. */
  #write(entry: ReplicatedEntry, stored: ReplicatedRow | null, storedOrigin: unknown): boolean {
    if (entry.row === null) return stored !== null && this.db.run("DELETE FROM backends WHERE id = ?", [entry.id]) > 0;
    if (sameRow(stored, entry.row) && storedOrigin === entry.origin) return false;
    this.db.run(UPSERT_BACKEND, [...REPLICATED_COLUMNS.map((c) => entry.row![c]), entry.origin]);
    return true;
  }

  /**
   * Soft-deletes the live backends registered at a POP for which `gone(owner)` holds (their heartbeats
   * can no longer arrive anywhere); a local change, so it replicates. Returns their ids. Without waiting
   * for the write lock (it runs on the event loop): SQLITE_BUSY at once, the caller tries again later.
   */
  expireOrphans(gone: (owner: string) => boolean, nowMs: number): string[] {
    const rows = this.db.all(
      `SELECT b.id AS id, k.owner AS owner FROM backends b JOIN replication_keys k ON k.id = b.id
       WHERE k.owner IS NOT NULL AND k.owner <> ? AND (b.deleted IS NULL OR b.deleted = 0)`,
      [this.popId],
    ).filter((r) => gone(String(r.owner)));
    if (rows.length === 0) return [];
    return this.#transaction(() => {
      const ids: string[] = [];
      for (const r of rows) {
        if (this.db.run("UPDATE backends SET deleted = 1, source = 'replication', origin = NULL, updated_at = ? WHERE id = ? AND (deleted IS NULL OR deleted = 0)", [nowMs, String(r.id)]) > 0) ids.push(String(r.id));
      }
      return ids;
    }, 0, rows.map((r) => String(r.id)));
  }

  /** The newest stamp known here (tests and the status view). */
  get clock(): Hlc {
    return this.#clock;
  }

  /** Sets a store_meta value (inside a write transaction). */
  #setMeta(key: string, value: string): void {
    this.db.run("INSERT INTO store_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [key, value]);
  }

  #meta(key: string): string | null {
    const row = this.db.get("SELECT value FROM store_meta WHERE key = ?", [key]);
    return row === undefined ? null : String(row.value);
  }

  close(): void {
    this.db.close();
  }
}


// The replication component of one POP (start/stop/tick): local changes of routing.db → outbox →
// JetStream KV bucket; bucket → last-writer-wins → routing.db → route table at once.
//
//   CLI / API / reaper / sqlite3 ──commit──► routing.db ──trigger──► replication_outbox
//        tick: PRAGMA data_version moved? → read the new changes (no lock) → stamp (HLC, in memory)
//        → publish (compare-and-set on the key's last revision) ─────────────►  KV <bucket>
//        → acked → recorded (out of the outbox) when routing.db's write lock is free (replica-db.ts)
//   KV <bucket> ──watch (from the last applied revision)──► batch (≤ APPLY_BATCH) ──► LWW apply, one
//        transaction per batch ──► routing.db ──► refresh routes
//   tombstones older than the TTL: purged by the lowest live POP (tombstone-sweep.ts)
//   KV <bucket>_pops: every POP's presence (id, region, lag, outbox), written every few seconds
//
// Nothing here blocks routing: NATS down or refused, the POP keeps its local routing.db and queues.
import type { NatsConnection } from "@nats-io/nats-core";
import { jetstream, type JetStreamManager } from "@nats-io/jetstream";
import { Kvm, type KV, type KvEntry } from "@nats-io/kv";
import type { ReplicationConfig } from "../config.ts";
import type { Logger } from "../lifecycle/log.ts";
import { NatsLink } from "./nats-link.ts";
import { KvPutter } from "./kv-put.ts";
import { isLockBusy } from "../store/store-errors.ts";
import { RECORD_WAIT_MS, ReplicaDb, UNRECORDED_HIGH, type OutboxItem, type WatchedChange } from "./replica-db.ts";
import { BACKEND_KEYS, decodeEntry, encodeEntry, idOfKey, keyOf, type ReplicatedEntry } from "./replicated-row.ts";
import { isWrongRevision, natsSweepBucket, readPurgedThrough } from "./nats-sweep-bucket.ts";
import { sweepIntervalMs, sweepTombstones } from "./tombstone-sweep.ts";
import { clusterStatus, expiringPop, isFresh, type ClusterStatus, type PresenceValue, type SeenPresence } from "../core/cluster-view.ts";
import type { ReplicationCounts } from "../metrics/replication-metrics.ts";

/** What the metrics export (edgeproxy_replication_*): one declaration, in metrics/replication-metrics.ts. */
export type ReplicationStats = ReplicationCounts;

export interface ReplicatorDeps {
  readonly config: ReplicationConfig;
  readonly dbPath: string;
  readonly region: string;
  /** EDGEPROXY_HEARTBEAT_TTL_SECS: a registering POP silent this long has its backends expired by another. */
  readonly heartbeatTtlMs: number;
  readonly log: Logger;
  readonly now: () => number;
  /** routing.db changed (remote rows applied, or a local edit noticed): refresh the route table now
   *  (asked at most every ROUTES_MIN_INTERVAL_MS while changes keep coming). */
  readonly onChanged: () => void;
}

/** How often tick() should run: local edits are noticed within this (a tick that finds nothing costs a
 *  few microseconds: one PRAGMA data_version). */
export const REPLICATION_TICK_MS = 10;
/** Route refreshes asked by replication at most this often (the first change after a quiet spell at
 *  once): each walks the whole route table (reading only the rows that changed), and a burst of
 *  changes would refresh back to back. */
export const ROUTES_MIN_INTERVAL_MS = 100;
/** How long a publish waits for JetStream's answer before it counts as failed (and is made again). */
const PUT_TIMEOUT_MS = 5000;
/** Publishes awaiting their answer at most. */
const MAX_IN_FLIGHT = 256;
/** Watched entries applied per transaction at most: a 10,000-entry catch-up is ~40 commits, and the
 *  event loop (the data path) is never held by one batch for long. */
export const APPLY_BATCH = 256;
/** Watched batches are applied at most this often: a stream of changes arriving one by one is applied
 *  many per transaction, the first at once. A commit writes ~8 pages to the write-ahead log whatever
 *  it holds (~180 µs, and a checkpoint every ~125 commits) against ~45 µs per entry: at 1,000 changes a
 *  second, 10 ms (10 entries a commit) costs ~63 µs an entry, 20 ms ~54 and 5 ms ~81: 10 ms halves the
 *  wait (5 ms less on average) for ~9 µs more an entry, within the run-to-run spread of the POPs' CPU in
 *  bench:replication. */
export const DRAIN_INTERVAL_MS = 10;
/** Watched entries received while routing.db is busy past which the watch stops pulling: the entries
 *  held are applied once the lock is free, then a new watcher resumes after them (memory stays bounded
 *  and nothing received is downloaded again). */
export const INBOX_HIGH = 8 * APPLY_BATCH;
/** Watched entries kept at most in any case; past this the watcher restarts from the applied revision. */
const MAX_INBOX = 50_000;
const MAX_BACKOFF_MS = 2000;
/** After a wait for the write lock in vain, the tick's record() waits again only this much later: the
 *  event loop sleeps at most RECORD_WAIT_MS in every this many ms while the lock stays held. */
const RECORD_WAIT_BACKOFF_MS = 100;
/** Stamps and acks held in memory are written at most this often (by the tick, unless past
 *  UNRECORDED_HIGH): during a burst of local changes each write is one commit more; meanwhile they are
 *  safe in memory (replica-db.ts header). */
const RECORD_INTERVAL_MS = 50;
/** How long a stopping POP tries to write its `stopped` presence. */
const STOPPED_PRESENCE_MS = 2000;
/** Watcher health is checked this often; a watcher making no progress while the stream is ahead for two checks is recreated. */
const WATCH_CHECK_MS = 1000;

export class Replicator {
  readonly #deps: ReplicatorDeps;
  readonly #db: ReplicaDb;
  readonly #link: NatsLink;
  readonly #presenceMs: number;
  #kv: KV | null = null;
  /** Publishes into #kv's bucket (kv-put.ts), on the connection it was opened on. */
  #putter: KvPutter | null = null;
  /** The connection #kv, #pops, #jsm and #putter were opened on. */
  #bucketsOn: NatsConnection | null = null;
  #pops: KV | null = null;
  #opening: Promise<void> | null = null;
  #dataVersion = -1;
  /** No waiting record() before this (see RECORD_WAIT_BACKOFF_MS). */
  #recordWaitAtMs = 0;
  /** No record() before this unless past UNRECORDED_HIGH (see RECORD_INTERVAL_MS). */
  #recordAtMs = 0;
  /** Keys being published, each with its publish (a key is published again only once answered). */
  readonly #inFlight = new Map<string, Promise<void>>();
  /** Versions fetched after a refused publish, not merged yet (routing.db was busy): merged at a later
   *  tick, the key published again only after (its next publish expects their revision). */
  readonly #fetched = new Map<string, { readonly entry: ReplicatedEntry; readonly revision: number }>();
  #pumpScheduled = false;
  #routesAtMs = -Infinity;
  #routesStale = false;
  #retryAtMs = 0;
  #backoffMs = 0;
  #watcher: WatchState | null = null;
  /** No new watcher before this (one that gave up on a busy routing.db would re-read the same entries at once). */
  #watchAtMs = 0;
  #jsm: JetStreamManager | null = null;
  #sweepAtMs = 0;
  #sweeping = false;
  #watchCheckAtMs = 0;
  #watchChecking = false;
  #stallSince: number | null = null;
  #presenceAtMs = 0;
  #presenceRound: Promise<void> | null = null;
  #seen = new Map<string, SeenPresence>();
  #seenAtMs = 0;
  #upSinceMs: number | null = null;
  #lag = 0;
  #behindSinceMs: number | null = null;
  #published = 0;
  #applied = 0;
  #conflicts = 0;
  #outbox = 0;
  /** Recount the outbox at the next tick (not once per applied entry: a catch-up applies thousands). */
  #outboxStale = false;
  #stopped = false;
  #badKeys = new Set<string>();

  private constructor(deps: ReplicatorDeps, db: ReplicaDb) {
    this.#deps = deps;
    this.#db = db;
    this.#presenceMs = Math.min(2000, Math.max(250, Math.floor(deps.heartbeatTtlMs / 4)));
    this.#link = new NatsLink(deps.config, deps.log, {
      up: (nc) => this.#onUp(nc),
      down: () => { this.#upSinceMs = null; },
    });
  }

  /** Opens routing.db's replication tables; throws when the file cannot be opened. */
  static open(deps: ReplicatorDeps): Replicator {
    return new Replicator(deps, ReplicaDb.open(deps.dbPath, deps.config.popId));
  }

  start(): void {
    // The first tick reads what changed while the POP was down.
    this.#dataVersion = -1;
    this.#outbox = this.#db.outboxDepth();
    this.#deps.log.info("replication starting", { pop: this.#deps.config.popId, servers: this.#deps.config.servers.join(","), bucket: this.#deps.config.bucket, outbox: this.#outbox, applied_revision: this.#db.appliedRevision() });
    this.#link.start();
  }

  get stats(): ReplicationStats {
    return { connected: this.#link.up && this.#kv !== null, lagSeconds: this.#lagMs(this.#deps.now()) / 1000, outbox: this.#outbox, published: this.#published, applied: this.#applied, conflicts: this.#conflicts };
  }

  /** Cluster membership as this POP sees it. */
  cluster(): ClusterStatus {
    const nowMs = this.#deps.now();
    return clusterStatus(this.#deps.config.popId, { value: this.#presence(nowMs), linkUp: this.stats.connected }, this.#seen.values(), nowMs);
  }

  tick(nowMs: number): void {
    if (this.#stopped) return;
    try {
      const dv = this.#db.dataVersion();
      if (dv !== this.#dataVersion) {
        // Another connection committed: a CLI/API/sqlite3 edit (or only the route sync's live counts).
        // Reads only (WAL: never waits for a writer); stamping is in memory.
        if (this.#db.noticeChanges() > 0) this.#routesChanged();
        this.#dataVersion = dv;
        this.#outbox = this.#db.outboxDepth();
      }
      // Stamps and acks reach routing.db when its write lock is free, a chunk at a time; waited for
      // only briefly, once per tick, when many are left (another connection kept the lock for long),
      // and not again for RECORD_WAIT_BACKOFF_MS after a wait in vain (a lock held for seconds).
      const unrecorded = this.#db.unrecorded;
      if (unrecorded > 0 && (nowMs >= this.#recordAtMs || unrecorded > UNRECORDED_HIGH)) {
        const waitMs = unrecorded > UNRECORDED_HIGH && nowMs >= this.#recordWaitAtMs ? RECORD_WAIT_MS : 0;
        if (this.#db.record(waitMs)) {
          this.#outboxStale = true;
          this.#recordAtMs = nowMs + RECORD_INTERVAL_MS;
        } else if (waitMs > 0) this.#recordWaitAtMs = nowMs + RECORD_WAIT_BACKOFF_MS;
      }
    } catch (err) {
      this.#deps.log.debug("replication: routing.db busy, retrying next tick", { error: (err as Error).message });
      return;
    }
    if (this.#routesStale && nowMs - this.#routesAtMs >= ROUTES_MIN_INTERVAL_MS) this.#routesChanged();
    if (this.#outboxStale) {
      this.#outboxStale = false;
      this.#outbox = this.#db.outboxDepth();
    }
    if (this.#watcher !== null && this.#watcher.parked) {
      this.#watcher.parked = false; // entries left by a busy routing.db: try again
      this.#drain(this.#watcher);
    }
    if (this.#fetched.size > 0) this.#mergeFetched();
    if (this.#kv === null) return;
    if (this.#db.hasUnpublished) this.#pump();
    if ((this.#watcher === null || this.#watcher.closed) && nowMs >= this.#watchAtMs) this.#watch();
    if (nowMs >= this.#watchCheckAtMs && !this.#watchChecking) {
      this.#watchCheckAtMs = nowMs + WATCH_CHECK_MS;
      this.#watchChecking = true;
      void this.#checkWatcher(nowMs).catch(() => {}).finally(() => { this.#watchChecking = false; });
    }
    if (nowMs >= this.#sweepAtMs && !this.#sweeping) {
      this.#sweepAtMs = nowMs + sweepIntervalMs(this.#deps.config.tombstoneTtlMs);
      this.#sweeping = true;
      // Not the sweeping POP (or no fresh view of the others yet): look again after the next presence round.
      void this.#sweep(nowMs)
        .then((ran) => { if (!ran) this.#sweepAtMs = nowMs + this.#presenceMs; })
        .catch((err) => this.#deps.log.debug("replication: tombstone sweep failed, retrying at the next one", { error: String((err as Error)?.message ?? err) }))
        .finally(() => { this.#sweeping = false; });
    }
    if (nowMs >= this.#presenceAtMs && this.#presenceRound === null) {
      this.#presenceAtMs = nowMs + this.#presenceMs;
      this.#presenceRound = this.#exchangePresence(nowMs).finally(() => { this.#presenceRound = null; });
    }
  }

  /** routing.db changed: the route table is refreshed now, or within ROUTES_MIN_INTERVAL_MS of the last refresh. */
  #routesChanged(): void {
    const nowMs = this.#deps.now();
    this.#routesStale = nowMs - this.#routesAtMs < ROUTES_MIN_INTERVAL_MS;
    if (this.#routesStale) return; // the tick refreshes it
    this.#routesAtMs = nowMs;
    this.#deps.onChanged();
  }

  #onUp(nc: NatsConnection): void {
    this.#upSinceMs = this.#deps.now();
    this.#opening ??= this.#openBuckets(nc).finally(() => { this.#opening = null; });
  }

  async #openBuckets(nc: NatsConnection): Promise<void> {
    if (this.#kv !== null && this.#bucketsOn === nc) {
      // Reconnected: the same buckets; a watcher from before the loss may never resume, start a fresh one.
      this.#restartWatch();
      this.#retryAtMs = 0;
      return;
    }
    // First time, or a new connection after the last one closed (NatsLink): the buckets, the putter and
    // the watcher all move to it.
    const { bucket, replicas } = this.#deps.config;
    const js = jetstream(nc, { timeout: 5000 });
    const kvm = new Kvm(js);
    const open = async (name: string) => {
      try {
        return await kvm.create(name, { history: 1, replicas });
      } catch (err) {
        if (/already in use|exists/i.test((err as Error).message)) return await kvm.open(name);
        throw err;
      }
    };
    try {
      const kv = await open(bucket);
      const pops = await open(`${bucket}_pops`);
      const identity = (await kv.status()).streamInfo.created;
      const known = this.#db.streamIdentity();
      if (known === null) this.#db.setStreamIdentity(identity);
      else if (known !== identity) {
        this.#deps.log.warn("replication bucket was recreated: re-reading every key and publishing every local row again", { bucket });
        this.#db.resetBucket(identity);
        this.#outbox = this.#db.outboxDepth();
      }
      this.#jsm = await js.jetstreamManager();
      this.#putter?.close();
      this.#putter = new KvPutter(nc, bucket, PUT_TIMEOUT_MS);
      const moved = this.#kv !== null;
      this.#kv = kv;
      this.#pops = pops;
      this.#bucketsOn = nc;
      if (moved) {
        this.#restartWatch();
        this.#retryAtMs = 0;
      }
      this.#deps.log.info("replication bucket open", { bucket, replicas, applied_revision: this.#db.appliedRevision(), outbox: this.#outbox });
    } catch (err) {
      this.#deps.log.warn("replication bucket cannot be opened yet, retrying", { bucket, error: (err as Error).message });
      setTimeout(() => { if (this.#link.connection !== null && this.#bucketsOn !== this.#link.connection) this.#onUp(this.#link.connection); }, 1000);
    }
  }

  // --- publishing -------------------------------------------------------------------------------

  /**
   * Publishes the pending changes, each as soon as it is read, without waiting for the answers to
   * earlier ones: a key waits only for its own last publish (whose revision the next one expects), at
   * most MAX_IN_FLIGHT at once. Runs at every tick, and after an answer that held something back
   * (#afterAnswers). Needs no write lock (stamps
   * and acks stay in memory until routing.db can record them, replica-db.ts), so a burst of commits
   * by another connection does not hold it back. NATS refusing backs off; nothing here throws.
   */
  #pump(): void {
    const kv = this.#kv, putter = this.#putter;
    if (kv === null || putter === null || this.#stopped || !this.#link.up || this.#deps.now() < this.#retryAtMs) return;
    const room = MAX_IN_FLIGHT - this.#inFlight.size;
    if (room <= 0) return;
    let items: OutboxItem[];
    try {
      if (this.#db.noticeChanges() > 0) this.#routesChanged(); // local edits: the route table too
      items = this.#db.pending(room, (id) => this.#inFlight.has(id) || this.#fetched.has(id));
    } catch (err) {
      this.#deps.log.debug("replication: routing.db unreadable, publishing at the next tick", { error: (err as Error).message });
      return;
    }
    for (const item of items) {
      const answered = this.#publishOne(kv, putter, item).then(
        (acked) => {
          if (acked === null) return; // merged: still pending, published again with the revision found
          this.#db.acknowledge(acked.item, acked.revision);
          this.#published++;
          this.#backoffMs = 0;
        },
        (err) => {
          if (this.#deps.now() < this.#retryAtMs) return; // already backing off (several failed together)
          this.#backoffMs = Math.min(MAX_BACKOFF_MS, this.#backoffMs === 0 ? 100 : this.#backoffMs * 2);
          this.#retryAtMs = this.#deps.now() + this.#backoffMs;
          this.#deps.log.debug("replication publish failed, retrying", { in_ms: this.#backoffMs, error: String((err as Error)?.message ?? err) });
        },
      ).finally(() => {
        const wasFull = this.#inFlight.size >= MAX_IN_FLIGHT;
        this.#inFlight.delete(item.id);
        // New changes wait for the next tick (at most REPLICATION_TICK_MS: one read for all of them);
        // at once only what this answer held back: this key (changed again, or refused), or anything
        // once every slot was taken.
        if (wasFull || this.#db.waitsToPublish(item.id)) this.#afterAnswers();
      });
      this.#inFlight.set(item.id, answered);
    }
  }

  /** An answer freed what waited: publish (once per macrotask). The acks are recorded by the next tick
   *  (one write transaction per tick, not one per handful of answers). */
  #afterAnswers(): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    setTimeout(() => {
      this.#pumpScheduled = false;
      if (this.#stopped) return; // stop() records what is left
      if (this.#db.hasUnpublished) this.#pump();
    }, 0);
  }

  /** The revision JetStream stored it at, or null when the key had moved on (merged instead). */
  async #publishOne(kv: KV, putter: KvPutter, item: OutboxItem): Promise<{ item: OutboxItem; revision: number } | null> {
    const key = keyOf(item.id);
    let revision: number;
    try {
      revision = await putter.put(key, encodeEntry(item.entry), item.revision);
    } catch (err) {
      if (!isWrongRevision(err)) throw err;
      // Someone wrote the key since this POP last saw it: merge what is there (LWW), then try again
      // with its revision; a newer version there drops this change from the outbox.
      const current = await kv.get(key);
      if (current === null) this.#db.setKeyRevision(item.id, 0); // purged and its marker removed: create
      else if (current.operation !== "PUT") this.#db.setKeyRevision(item.id, current.revision); // a marker
      else {
        const change = this.#change(current);
        if (change.kind === "entry") {
          this.#fetched.set(item.id, { entry: change.entry, revision: current.revision });
          if (!this.#mergeFetched()) this.#deps.log.debug("replication: publish refused while routing.db is busy, merging the bucket's version at a later tick", { id: item.id });
        }
      }
      return null; // still pending: the next round publishes it again (or finds it gone)
    }
    return { item, revision };
  }

  // --- watching ---------------------------------------------------------------------------------

  #watch(): void {
    const kv = this.#kv;
    if (kv === null || !this.#link.up) return;
    const state: WatchState = { closed: false, startedAtMs: this.#deps.now(), stop: () => {}, inbox: [], scheduled: false, drainedAtMs: -Infinity, parked: false, paused: false };
    this.#watcher = state;
    void (async () => {
      try {
        await this.#reconcile(kv);
        if (state.closed) return;
        state.startedAtMs = this.#deps.now(); // the stall check counts from the watch, not the re-read
        const from = this.#db.appliedRevision();
        const iter = await kv.watch({ key: BACKEND_KEYS, ...(from > 0 ? { resumeFromRevision: from + 1 } : {}) });
        state.stop = () => iter.stop();
        if (state.closed) iter.stop();
        for await (const e of iter) {
          if (state.closed) break;
          state.inbox.push({ change: this.#change(e), createdMs: e.created.getTime() });
          // Applied once every entry already received is in (a macrotask later, or DRAIN_INTERVAL_MS after
          // the last batch): one transaction for all.
          if (!state.scheduled) this.#scheduleDrain(state);
          if (state.inbox.length >= (state.parked ? INBOX_HIGH : MAX_INBOX)) {
            // routing.db busy (or applying far slower than entries come): stop pulling; #drain closes
            // this watcher once what it holds is applied, and the next tick resumes after it.
            this.#deps.log.debug("replication: watch paused until the entries received are applied", { entries: state.inbox.length, parked: state.parked });
            state.paused = true;
            iter.stop();
            break;
          }
        }
      } catch (err) {
        if (!state.closed) this.#deps.log.debug("replication watcher ended", { error: (err as Error).message });
      } finally {
        if (!state.paused) state.closed = true;
      }
    })();
  }

  #restartWatch(): void {
    if (this.#watcher !== null) {
      this.#watcher.closed = true;
      this.#watcher.inbox.length = 0;
      this.#watcher.stop();
    }
    this.#watcher = null;
    this.#stallSince = null;
  }

  /** The next batch is applied a macrotask from now, but not within DRAIN_INTERVAL_MS of the last one
   *  unless a full batch waits. */
  #scheduleDrain(state: WatchState): void {
    state.scheduled = true;
    // A full batch gains nothing by waiting (a catch-up is applied as fast as the CPU allows).
    const delayMs = state.inbox.length >= APPLY_BATCH ? 0 : state.drainedAtMs + DRAIN_INTERVAL_MS - this.#deps.now();
    setTimeout(() => this.#drain(state), Math.max(0, delayMs));
  }

  /** Applies what the watcher queued, APPLY_BATCH entries per transaction, in revision order. */
  #drain(state: WatchState): void {
    state.scheduled = false;
    state.drainedAtMs = this.#deps.now();
    if (state.closed || this.#stopped) {
      state.inbox.length = 0;
      return;
    }
    const batch = state.inbox.splice(0, APPLY_BATCH);
    if (batch.length === 0) {
      if (state.paused) state.closed = true; // all applied: the next tick watches from the applied revision
      return;
    }
    let result;
    try {
      // Without waiting for the write lock: this runs on the event loop (the data path's, the publisher's).
      result = this.#db.applyBatch(batch.map((b) => b.change), 0);
    } catch (err) {
      if (isLockBusy(err) && state.inbox.length + batch.length <= MAX_INBOX) {
        // Another connection holds routing.db (a burst of commits): keep the entries; the next tick
        // tries again (entries arriving meanwhile only queue).
        state.inbox.unshift(...batch);
        state.scheduled = state.parked = true;
        return;
      }
      // Anything else (or too much waiting): a new watcher resumes from the last applied revision, after
      // a pause (received entries are dropped, not kept growing while routing.db stays busy).
      this.#deps.log.warn("replication: cannot apply changes yet, retrying", { entries: batch.length, error: (err as Error).message });
      if (this.#watcher === state) {
        this.#restartWatch();
        this.#watchAtMs = this.#deps.now() + WATCH_CHECK_MS;
      }
      return;
    }
    if (state.inbox.length > 0) {
      this.#scheduleDrain(state);
    } else if (state.paused) {
      state.closed = true; // all applied: the next tick watches from the applied revision
    }
    this.#applied += result.applied;
    this.#conflicts += result.conflicts;
    this.#lag = Math.max(0, this.#deps.now() - batch[batch.length - 1]!.createdMs);
    if (result.changed) this.#routesChanged();
    if (this.#outbox > 0) this.#outboxStale = true; // an applied version may have dropped a losing local change
  }

  #change(e: KvEntry): WatchedChange {
    // A DEL/PURGE marker carries no value, a backend's entry always one: the operation header (whose
    // parse costs more than the rest of the entry) is read only for an empty value.
    if (e.value.length === 0 && e.operation !== "PUT") {
      // A purged tombstone's marker (tombstone-sweep.ts), or a key deleted by hand with the nats CLI.
      const id = idOfKey(e.key);
      return id === null ? { kind: "skip", revision: e.revision } : { kind: "removed", id, revision: e.revision };
    }
    const entry = decodeEntry(e.key, e.string());
    if ("problem" in entry) {
      if (!this.#badKeys.has(e.key)) this.#deps.log.warn("replication: entry ignored", { key: e.key, problem: entry.problem });
      this.#badKeys.add(e.key);
      return { kind: "skip", revision: e.revision };
    }
    return { kind: "entry", entry, revision: e.revision };
  }

  /**
   * Values read with kv.get after refused publishes: merged (LWW), without moving the watch position
   * and without waiting for the write lock (this runs on the event loop). routing.db busy: they stay
   * for a later tick, and their keys wait with them (false). Never throws (a publish's answer calls it).
   */
  #mergeFetched(): boolean {
    const fetched = [...this.#fetched.values()];
    let result;
    try {
      result = this.#db.merge(fetched, 0);
    } catch (err) {
      if (isLockBusy(err)) return false; // the next tick tries again
      this.#deps.log.debug("replication: fetched versions not merged, publishing again", { error: (err as Error).message });
      this.#fetched.clear(); // published again: refused again and fetched again
      return true;
    }
    this.#fetched.clear();
    this.#applied += result.applied;
    this.#conflicts += result.conflicts;
    if (result.changed) this.#routesChanged();
    this.#outboxStale = true;
    return true;
  }

  /**
   * Tombstones were purged past this POP's last applied revision (it was away longer than the TTL):
   * the deletes it missed can no longer be watched, so it lists the bucket's keys and deletes here the
   * ones gone from it. Once per watermark; the watch then resumes from the last applied revision.
   */
  async #reconcile(kv: KV): Promise<void> {
    const pops = this.#pops;
    const applied = this.#db.appliedRevision();
    if (pops === null || applied === 0) return;
    const purged = await readPurgedThrough(pops);
    if (purged <= applied || this.#db.reconciledThrough() >= purged) return;
    const present = new Set<string>();
    for await (const key of await kv.keys(BACKEND_KEYS)) present.add(key);
    const removed = this.#db.forgetAbsent((id) => present.has(keyOf(id)), applied);
    this.#db.setReconciledThrough(purged);
    this.#deps.log.info("replication: tombstones were purged while this POP was away, re-read the bucket's keys", { applied_revision: applied, purged_through: purged, keys: present.size, removed: removed.length });
    if (removed.length > 0) this.#routesChanged();
  }

  /** The lowest live POP purges tombstones (and then their markers) older than the TTL. */
  async #sweep(nowMs: number): Promise<boolean> {
    const kv = this.#kv, pops = this.#pops, jsm = this.#jsm;
    const { popId, bucket, tombstoneTtlMs } = this.#deps.config;
    if (kv === null || pops === null || jsm === null || !this.#link.up || this.#upSinceMs === null) return false;
    if (expiringPop(popId, this.#seen.values(), nowMs) !== popId || nowMs - this.#seenAtMs > 2 * this.#presenceMs + WATCH_CHECK_MS) return false;
    try {
      const r = await sweepTombstones(this.#db, natsSweepBucket(kv, pops, jsm, bucket), tombstoneTtlMs, nowMs);
      if (r.purged > 0 || r.markersRemoved > 0) this.#deps.log.info("replication: old tombstones purged", { tombstones: r.purged, markers: r.markersRemoved, ttl_secs: tombstoneTtlMs / 1000 });
    } catch (err) {
      this.#deps.log.debug("replication: tombstone sweep failed, retrying at the next one", { error: (err as Error).message });
    }
    return true;
  }

  /** A watcher that stopped delivering while the stream holds newer revisions is replaced. */
  async #checkWatcher(nowMs: number): Promise<void> {
    const kv = this.#kv;
    if (kv === null || !this.#link.up) return;
    let last: number;
    try {
      last = (await kv.status()).streamInfo.state.last_seq;
    } catch {
      return; // no answer (leader election, partition): nothing to conclude
    }
    const applied = this.#db.appliedRevision();
    if (last <= applied) {
      this.#stallSince = null;
      this.#behindSinceMs = null;
      return;
    }
    this.#behindSinceMs ??= nowMs;
    if (this.#stallSince === null || this.#stallSince !== applied || (this.#watcher?.inbox.length ?? 0) > 0) {
      // Moving, or holding received entries that routing.db's lock keeps from being applied: not stalled.
      this.#stallSince = applied;
      this.#stallAtMs = nowMs;
      return;
    }
    if (nowMs - this.#stallAtMs >= 2 * WATCH_CHECK_MS && this.#watcher !== null && nowMs - this.#watcher.startedAtMs >= 2 * WATCH_CHECK_MS) {
      this.#deps.log.warn("replication watcher stalled, recreating it from the last applied revision", { applied_revision: applied, stream_revision: last });
      this.#restartWatch();
    }
  }
  #stallAtMs = 0;

  #lagMs(nowMs: number): number {
    return this.#behindSinceMs !== null ? Math.max(this.#lag, nowMs - this.#behindSinceMs) : this.#lag;
  }

  // --- presence and orphaned registrations --------------------------------------------------------

  #presence(nowMs: number): PresenceValue {
    return { id: this.#deps.config.popId, region: this.#deps.region, outbox: this.#outbox, lag_ms: this.#lagMs(nowMs), applied_revision: this.#db.appliedRevision(), interval_ms: this.#presenceMs };
  }

  async #exchangePresence(nowMs: number): Promise<void> {
    const pops = this.#pops;
    if (pops === null || !this.#link.up) return;
    try {
      await pops.put(keyOf(this.#deps.config.popId), JSON.stringify(this.#presence(nowMs)));
      const seen = new Map<string, SeenPresence>();
      for await (const key of await pops.keys()) {
        const e = await pops.get(key);
        if (e === null || e.operation !== "PUT") continue;
        try {
          const value = JSON.parse(e.string()) as PresenceValue;
          if (typeof value.id === "string") seen.set(value.id, { value, seenMs: e.created.getTime() });
        } catch {
          // not a presence value: ignored
        }
      }
      this.#seen = seen;
      this.#seenAtMs = this.#deps.now();
    } catch {
      return; // the next round tries again
    }
    try {
      this.#expireOrphans(this.#deps.now());
    } catch (err) {
      this.#deps.log.debug("replication: routing.db busy, orphaned registrations looked at next round", { error: (err as Error).message });
    }
  }

  /** A clean stop is written to the presence bucket, so the others show this POP `stopped`, not `down`
   *  (after the round in flight, which would overwrite it; bounded: a stop never waits on NATS long). */
  async #sayStopped(): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<void>((resolve) => { timer = setTimeout(resolve, STOPPED_PRESENCE_MS); });
    const say = async () => {
      await this.#presenceRound;
      const pops = this.#pops;
      if (pops === null || !this.#link.up) return;
      const value: PresenceValue = { ...this.#presence(this.#deps.now()), stopped: true };
      await pops.put(keyOf(this.#deps.config.popId), JSON.stringify(value));
    };
    try {
      await Promise.race([say().catch(() => {}), deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Backends registered through the API of a POP that has been silent for longer than the heartbeat
   * TTL can no longer be heartbeated (their registering POP would expire them, but it is gone): the
   * live POP with the lowest id soft-deletes them, and that change replicates like any other.
   */
  #expireOrphans(nowMs: number): void {
    const { popId } = this.#deps.config;
    if (this.#upSinceMs === null || expiringPop(popId, this.#seen.values(), nowMs) !== popId) return;
    const ttl = this.#deps.heartbeatTtlMs;
    const connectedLongEnough = nowMs - this.#upSinceMs >= ttl + this.#presenceMs;
    const gone = (owner: string) => {
      const p = this.#seen.get(owner);
      if (p === undefined) return connectedLongEnough;
      return !isFresh(p, nowMs) && nowMs - p.seenMs > ttl;
    };
    const ids = this.#db.expireOrphans(gone, nowMs);
    if (ids.length === 0) return;
    for (const id of ids) this.#deps.log.info("backend deregistered: its registering POP is gone", { id, ttl_secs: ttl / 1000 });
    this.#db.noticeChanges();
    this.#outbox = this.#db.outboxDepth();
    this.#routesChanged();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#restartWatch();
    await Promise.allSettled([...this.#inFlight.values()]);
    try {
      // A clean stop records its acks (a crash publishes them again), a chunk per transaction.
      while (this.#db.unrecorded > 0 && this.#db.record(this.#db.writeBusyMs));
    } catch {
      // busy: the outbox rows are published again after the restart
    }
    await this.#sayStopped();
    this.#putter?.close();
    await this.#link.stop();
    this.#db.close();
  }
}

interface WatchState {
  closed: boolean;
  startedAtMs: number;
  stop(): void;
  /** Received, not yet applied (in revision order). */
  readonly inbox: { readonly change: WatchedChange; readonly createdMs: number }[];
  /** A drain is due (a macrotask, or the next tick when parked). */
  scheduled: boolean;
  /** When the last batch was applied (or tried). */
  drainedAtMs: number;
  /** routing.db was busy: the next tick drains. */
  parked: boolean;
  /** Stopped pulling (INBOX_HIGH reached while parked): closed once the inbox is applied. */
  paused: boolean;
}

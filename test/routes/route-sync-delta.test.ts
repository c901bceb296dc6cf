// RouteSync on a real routing.db reads only the rows the change log names, applies only those (with the
// config file's overrides laid over them), and the table it builds is the one a full read gives; when
// the log cannot say what changed (pruned past the last read, a hole, another file, a backup of the
// same store restored) it reads every row. The keeper and reapply still see every row.
import { test } from "node:test";
import assert from "node:assert/strict";
import { renameSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Backend, RouteSnapshot } from "../../src/core/types.ts";
import { withOverrides, type BackendOverrides } from "../../src/core/backend-overrides.ts";
import type { SlotSpec } from "../../src/core/selection.ts";
import { ReferenceEngine } from "../../src/core/reference-engine.ts";
import { RouteTable, type RoutePublication } from "../../src/core/route-table.ts";
import type { Logger } from "../../src/core/logger.ts";
import { RouteSync, type RouteSyncOptions, type SnapshotSource } from "../../src/routes/route-sync.ts";
import { openLibsqlStore } from "../../src/store/libsql-store.ts";
import { StoreError } from "../../src/store/store-errors.ts";
import { CHANGE_LOG_KEEP } from "../../src/store/change-triggers.ts";
import { rawConnection } from "../store/store-fixture.ts";
import { tempDir } from "../fixtures/routing-db.ts";

const SEEDED = 40;
const id = (n: number) => `b-${String(n).padStart(2, "0")}`;
const row = (backendId: string, port = 7000, hardLimit = 150) =>
  `('${backendId}', 'game', 'sa', 'BR', '10.0.0.1', ${port}, 1, 1, 100, ${hardLimit}, 0)`;
const INSERT = "INSERT INTO backends (id, app, region, country, wg_ip, port, healthy, weight, soft_limit, hard_limit, deleted) VALUES ";

class CountingEngine extends ReferenceEngine {
  writes = 0;
  /** The last spec written to each slot. */
  readonly specs = new Map<number, SlotSpec>();
  setSlot(slot: number, spec: SlotSpec): void {
    this.writes++;
    this.specs.set(slot, spec);
    super.setSlot(slot, spec);
  }
}

const byId = (x: Backend, y: Backend) => (x.id < y.id ? -1 : 1);

async function setup(options: RouteSyncOptions = {}, publish?: (publication: RoutePublication) => void) {
  const dir = tempDir();
  const path = join(dir.dir, "routing.db");
  const identity = (p: string) => { try { const s = statSync(p); return `${s.dev}:${s.ino}`; } catch { return null; } };
  const store = openLibsqlStore(path, { busyTimeoutMs: 2000, fileIdentity: () => identity(path) });
  /** An operator's sqlite3 session on `file`, one script at a time. */
  const sqlite3 = (sql: string, file = path) => {
    const raw = rawConnection(file);
    try { raw.exec(sql); } finally { raw.close(); }
  };
  sqlite3(INSERT + [...Array.from({ length: SEEDED }, (_, n) => row(id(n))), row("bad-1", 0), row("adj", 7000)].join(", "));

  const reads = { full: 0, changes: 0, rows: 0, failChanges: false };
  const source: SnapshotSource = {
    changeMarker: () => store.changeMarker(),
    async readSnapshot() {
      const read = await store.readSnapshot();
      reads.full++;
      reads.rows = read.snapshot.backends.length + read.skipped.length;
      return read;
    },
    async readChanges(cursor) {
      if (reads.failChanges) throw new StoreError("routing store: cannot read changed backends: disk I/O error", "SQLITE_IOERR");
      const read = await store.readChanges(cursor);
      if (read !== null) {
        reads.changes++;
        reads.rows = read.backends.length + read.removed.length;
      }
      return read;
    },
  };
  const warnings: { msg: string; id: unknown }[] = [];
  const log: Logger = { debug() {}, info() {}, error() {}, warn: (msg, fields = {}) => { warnings.push({ msg, id: fields.id }); } };
  const engine = new CountingEngine(128);
  const table = new RouteTable(engine, "sa", publish);
  const sync = new RouteSync(source, table, log, options);
  const warned = (msg: string) => warnings.filter((w) => w.msg === msg).map((w) => w.id);
  /** The table's backends, by id. */
  const routed = () => table.publication().slots.map(([, , b]) => b).sort(byId);
  /** What a fresh full read of the file routes now (another handle, so nothing is shared). */
  const fullRead = async (): Promise<Backend[]> => {
    const fresh = openLibsqlStore(path, { busyTimeoutMs: 2000 });
    try {
      return [...(await fresh.readSnapshot()).snapshot.backends];
    } finally {
      await fresh.close();
    }
  };
  const at = (backendId: string) => table.backendAt(table.slotOf(backendId)!);
  /** What the engine was last given for the backend's slot. */
  const spec = (backendId: string) => engine.specs.get(table.slotOf(backendId)!);
  return {
    dir, path, store, sqlite3, reads, engine, table, sync, warned, routed, fullRead, at, spec,
    async close() {
      await store.close();
      dir.remove();
    },
  };
}

test("after inserts, updates, soft and hard deletes, a rename and rows going bad and good, only the changed rows are read and the table is a full read's", async () => {
  const t = await setup();
  try {
    assert.equal(await t.sync.refresh(), true);
    assert.deepEqual([t.reads.full, t.reads.changes], [1, 0], "the first read is a full one");
    assert.deepEqual(t.warned("routing row skipped"), ["bad-1"]);
    assert.deepEqual(t.routed(), await t.fullRead());
    const untouched = t.at(id(20));
    const writesBefore = t.engine.writes;

    t.sqlite3(`${INSERT}${row("new-1")};
      UPDATE backends SET weight = 5 WHERE id = '${id(1)}';
      UPDATE backends SET deleted = 1 WHERE id = '${id(2)}';
      DELETE FROM backends WHERE id = '${id(3)}';
      UPDATE backends SET id = 'renamed-4' WHERE id = '${id(4)}';
      UPDATE backends SET port = 0 WHERE id = '${id(5)}';
      UPDATE backends SET port = 7005 WHERE id = 'bad-1';
      UPDATE backends SET last_heartbeat_ms = 12345 WHERE id = '${id(6)}';
      UPDATE backends SET weight = 2 WHERE id = '${id(7)}';
      UPDATE backends SET weight = 1 WHERE id = '${id(7)}';`);
    assert.equal(await t.sync.refresh(), true);
    assert.deepEqual([t.reads.full, t.reads.changes], [1, 1], "read from the change log");
    // new-1, b-01, b-02, b-03, b-04 (renamed away), renamed-4, b-05, bad-1, b-07 (twice): nine ids, not 42 rows.
    assert.equal(t.reads.rows, 9);
    assert.deepEqual(t.routed(), await t.fullRead(), "the same backends with the same values as a full read");
    assert.equal(t.at(id(20)), untouched, "an unchanged backend keeps its object");
    assert.equal(t.engine.writes - writesBefore, 5, "only new-1, b-01, renamed-4, bad-1 and b-07 are written to the engine");
    assert.deepEqual(t.warned("routing row skipped"), ["bad-1", id(5)], "the row gone bad is reported; the unchanged ones are not again");
    assert.equal(t.table.slotOf(id(4)), undefined);
    assert.equal(t.at("renamed-4")?.port, 7000);

    // No change: nothing read at all.
    assert.equal(await t.sync.refresh(), false);
    assert.deepEqual([t.reads.full, t.reads.changes], [1, 1]);
  } finally {
    await t.close();
  }
});

test("a warning about an adjusted row is kept while the row is unchanged and forgotten when a read shows it fixed", async () => {
  const t = await setup();
  try {
    // Versions written as replication writes them, so the same version can come back.
    t.sqlite3("UPDATE backends SET hard_limit = 2, version = 50 WHERE id = 'adj'");
    await t.sync.refresh();
    assert.deepEqual(t.warned("routing row adjusted"), ["adj"]);
    t.sqlite3(`UPDATE backends SET weight = 3 WHERE id = '${id(1)}'`);
    await t.sync.refresh();
    // A log with a hole after the cursor: every row is read, and adj, still the same, is not warned again.
    t.sqlite3(`UPDATE backends SET weight = 4 WHERE id = '${id(1)}'; UPDATE backends SET weight = 5 WHERE id = '${id(1)}';
      DELETE FROM backend_changes WHERE seq = (SELECT MAX(seq) FROM backend_changes) - 1`);
    await t.sync.refresh();
    assert.deepEqual([t.reads.full, t.reads.changes], [2, 1]);
    assert.deepEqual(t.warned("routing row adjusted"), ["adj"]);
    // Fixed (read as a change), then bad again at the same version: warned again.
    t.sqlite3("UPDATE backends SET hard_limit = 150, version = 51 WHERE id = 'adj'");
    await t.sync.refresh();
    t.sqlite3("UPDATE backends SET hard_limit = 2, version = 50 WHERE id = 'adj'");
    await t.sync.refresh();
    assert.deepEqual([t.reads.full, t.reads.changes], [2, 3]);
    assert.deepEqual(t.warned("routing row adjusted"), ["adj", "adj"]);
    assert.deepEqual(t.routed(), await t.fullRead());
  } finally {
    await t.close();
  }
});

test(`more than ${CHANGE_LOG_KEEP} changes since the last read: the log no longer reaches back, every row is read`, async () => {
  const t = await setup();
  try {
    await t.sync.refresh();
    const rounds = Math.ceil(CHANGE_LOG_KEEP / (SEEDED + 2)) + 1;
    t.sqlite3(`BEGIN; ${"UPDATE backends SET weight = weight % 9 + 1;".repeat(rounds)} COMMIT;`);
    assert.equal(await t.sync.refresh(), true);
    assert.deepEqual([t.reads.full, t.reads.changes], [2, 0]);
    assert.deepEqual(t.routed(), await t.fullRead());
    // And the log serves the next change again.
    t.sqlite3(`UPDATE backends SET healthy = 0 WHERE id = '${id(9)}'`);
    await t.sync.refresh();
    assert.deepEqual([t.reads.full, t.reads.changes, t.reads.rows], [2, 1, 1]);
    assert.deepEqual(t.routed(), await t.fullRead());
  } finally {
    await t.close();
  }
});

test("a routing.db replaced by another store's file (another store_id) is read whole", async () => {
  const t = await setup();
  const other = tempDir();
  try {
    await t.sync.refresh();
    const otherPath = join(other.dir, "routing.db");
    await openLibsqlStore(otherPath).close();
    // More changes than the live file has, so its seq passes the cursor. Both files checkpointed first,
    // as an operator's `mv` needs (the -wal file stays behind).
    t.sqlite3(`${INSERT}${Array.from({ length: 60 }, (_, n) => row(`o-${n}`)).join(", ")}; PRAGMA wal_checkpoint(TRUNCATE)`, otherPath);
    t.sqlite3("PRAGMA wal_checkpoint(TRUNCATE)");
    renameSync(otherPath, t.path);
    assert.equal(await t.sync.refresh(), true);
    assert.deepEqual([t.reads.full, t.reads.changes], [2, 0]);
    assert.equal(t.table.size, 60);
    assert.deepEqual(t.routed(), await t.fullRead());
  } finally {
    other.remove();
    await t.close();
  }
});

test("a backup of the same store restored over it, whose log went another way past the cursor, is read whole", async () => {
  const t = await setup();
  try {
    await t.sync.refresh();
    const backup = join(t.dir.dir, "backup.db");
    t.sqlite3(`VACUUM INTO '${backup}'`);
    t.sqlite3(`UPDATE backends SET weight = 7 WHERE id = '${id(1)}'`);
    await t.sync.refresh();
    assert.deepEqual([t.reads.full, t.reads.changes], [1, 1]);
    // The backup (same store_id) gets two other changes: its seq is now past the cursor's.
    t.sqlite3(`UPDATE backends SET weight = 8 WHERE id = '${id(2)}'; UPDATE backends SET weight = 9 WHERE id = '${id(3)}'; PRAGMA wal_checkpoint(TRUNCATE)`, backup);
    t.sqlite3("PRAGMA wal_checkpoint(TRUNCATE)");
    renameSync(backup, t.path);
    assert.equal(await t.sync.refresh(), true);
    assert.deepEqual([t.reads.full, t.reads.changes], [2, 1]);
    assert.equal(t.at(id(1))?.weight, 1, "the restored value");
    assert.deepEqual(t.routed(), await t.fullRead());
  } finally {
    await t.close();
  }
});

test("a failed change read keeps the last good table, and the next read catches up from the same point", async () => {
  const t = await setup();
  try {
    await t.sync.refresh();
    t.sqlite3(`UPDATE backends SET weight = 6 WHERE id = '${id(1)}'`);
    t.reads.failChanges = true;
    assert.equal(await t.sync.refresh(), false);
    assert.equal(t.sync.failing, true);
    assert.equal(t.at(id(1))?.weight, 1);
    t.sqlite3(`DELETE FROM backends WHERE id = '${id(2)}'`);
    t.reads.failChanges = false;
    assert.equal(await t.sync.refresh(), true);
    assert.equal(t.sync.failing, false);
    assert.deepEqual([t.reads.full, t.reads.changes, t.reads.rows], [1, 1, 2]);
    assert.deepEqual(t.routed(), await t.fullRead());
  } finally {
    await t.close();
  }
});

test("after a change read, the config file's overrides are laid over the changed rows; an overridden row left unchanged is not written again", async () => {
  const overrides: BackendOverrides = new Map([[id(1), { weight: 9 }], [id(2), { softLimit: 5, hardLimit: 6 }], ["new-1", { weight: 4 }]]);
  const t = await setup({ adjust: (snapshot) => withOverrides(snapshot, overrides) });
  try {
    await t.sync.refresh();
    assert.equal(t.spec(id(1))?.weight, 9);
    const unchanged = t.at(id(2));
    const writesBefore = t.engine.writes;

    t.sqlite3(`UPDATE backends SET port = 7101 WHERE id = '${id(1)}'; UPDATE backends SET healthy = 0 WHERE id = '${id(3)}'; ${INSERT}${row("new-1")}`);
    assert.equal(await t.sync.refresh(), true);
    assert.deepEqual([t.reads.full, t.reads.changes], [1, 1], "read from the change log");
    assert.deepEqual([t.at(id(1))?.port, t.at(id(1))?.weight], [7101, 9], "the new row value, the override kept");
    assert.equal(t.spec(id(1))?.weight, 9, "routed with the override");
    assert.equal(t.spec("new-1")?.weight, 4, "a row inserted with an override waiting for it");
    assert.equal(t.spec(id(3))?.healthy, false);
    assert.equal(t.at(id(2)), unchanged, "the unchanged overridden row keeps its object");
    assert.deepEqual([t.spec(id(2))?.softLimit, t.spec(id(2))?.hardLimit], [5, 6]);
    assert.equal(t.engine.writes - writesBefore, 3, "only b-01, b-03 and new-1 are written");
    const expected = withOverrides({ generation: "", backends: await t.fullRead() }, overrides).backends;
    assert.deepEqual(t.routed(), [...expected].sort(byId), "a full read with the overrides laid over it");
  } finally {
    await t.close();
  }
});

test("after change reads, the keeper saves every row as read and reapply lays new overrides over every row, changed or not", async () => {
  const saved: RouteSnapshot[] = [];
  let overrides: BackendOverrides = new Map([[id(1), { weight: 9 }]]);
  const t = await setup({ keeper: { save: async (snapshot) => { saved.push(snapshot); } }, adjust: (snapshot) => withOverrides(snapshot, overrides) });
  try {
    await t.sync.refresh();
    t.sqlite3(`UPDATE backends SET weight = 3 WHERE id = '${id(1)}'; DELETE FROM backends WHERE id = '${id(2)}'; ${INSERT}${row("new-1")}`);
    await t.sync.refresh();
    t.sqlite3(`UPDATE backends SET port = 7104 WHERE id = '${id(4)}'`);
    await t.sync.refresh();
    assert.deepEqual([t.reads.full, t.reads.changes], [1, 2]);
    assert.equal(saved.length, 3);
    const last = saved.at(-1)!;
    assert.equal(last.generation, t.table.generation);
    assert.deepEqual([...last.backends].sort(byId), await t.fullRead(), "every row, as read (no override)");

    overrides = new Map([[id(20), { weight: 7 }], [id(4), { hardLimit: 400 }]]);
    const before = t.table.publication().slots.map(([slot, , b]) => [b.id, slot]);
    t.sync.reapply();
    assert.deepEqual([t.reads.full, t.reads.changes], [1, 2], "no store read");
    assert.deepEqual([t.spec(id(20))?.weight, t.spec(id(4))?.hardLimit, t.spec(id(1))?.weight], [7, 400, 3], "the old override gone, the new ones on rows changed or not");
    const expected = withOverrides({ generation: "", backends: await t.fullRead() }, overrides).backends;
    assert.deepEqual(t.routed(), [...expected].sort(byId));
    assert.deepEqual(t.table.publication().slots.map(([slot, , b]) => [b.id, slot]), before, "no backend moved");
  } finally {
    await t.close();
  }
});

test("a change read whose apply fails (the publication to the workers refused) is read and applied again at the next refresh", async () => {
  let refuse = false;
  const t = await setup({}, () => { if (refuse) throw new Error("publication refused"); });
  try {
    await t.sync.refresh();
    t.sqlite3(`UPDATE backends SET weight = 6 WHERE id = '${id(1)}'; DELETE FROM backends WHERE id = '${id(2)}'; ${INSERT}${row("new-1")}`);
    refuse = true;
    assert.equal(await t.sync.refresh(), false);
    assert.equal(t.sync.failing, true);
    refuse = false;
    assert.equal(await t.sync.refresh(), true);
    assert.deepEqual([t.reads.full, t.reads.changes, t.reads.rows], [1, 2, 3], "the same three rows read again");
    assert.deepEqual(t.routed(), await t.fullRead());
    assert.deepEqual([t.spec(id(1))?.weight, t.spec("new-1")?.weight], [6, 1], "the slots the failed apply left unwritten are written");
  } finally {
    await t.close();
  }
});

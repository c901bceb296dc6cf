// Changes made outside this store handle — another connection, an operator's sqlite3 process, another
// process writing at the same time — are versioned by the database and seen by the running store.
import { test, describe, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { openLibsqlStore, type LibsqlStore } from "../../src/store/libsql-store.ts";
import { repoRoot, runtimeCommand } from "../fixtures/runtime.ts";
import { rawConnection, tempDb, type RawConnection, type TempDb } from "./store-fixture.ts";

const ROW = { id: "br-1", app: "game", region: "sa", country: "BR", host: "10.0.0.1", port: 7000 } as const;
const hasSqlite3 = !spawnSync("sqlite3", ["-version"]).error;

describe("edits from outside the store", () => {
  let db: TempDb;
  let store: LibsqlStore;
  let raw: RawConnection;

  beforeEach(async () => {
    db = tempDb();
    store = openLibsqlStore(db.path, { busyTimeoutMs: 5000 });
    await store.upsertBackend(ROW);
    raw = rawConnection(db.path);
  });
  afterEach(async () => {
    raw.close();
    await store.close();
    db.remove();
  });

  const version = () => raw.get("SELECT version FROM backends WHERE id = 'br-1'")?.version;

  test("an UPDATE from another connection moves the marker, bumps the version and shows in the snapshot", async () => {
    const marker = await store.changeMarker();
    raw.run("UPDATE backends SET healthy = 0 WHERE id = 'br-1'");
    assert.notEqual(await store.changeMarker(), marker);
    const { snapshot } = await store.readSnapshot();
    assert.equal(snapshot.backends[0]?.healthy, false);
    assert.equal(snapshot.backends[0]?.version, 2);
    const updated = raw.get("SELECT updated_at FROM backends WHERE id = 'br-1'")?.updated_at;
    assert.equal(typeof updated, "number");
  });

  test("each statement is one version; a no-op UPDATE still counts as a write", () => {
    raw.run("UPDATE backends SET weight = 5 WHERE id = 'br-1'");
    raw.run("UPDATE backends SET weight = 5, soft_limit = 10 WHERE id = 'br-1'");
    raw.run("UPDATE backends SET weight = weight WHERE id = 'br-1'");
    assert.equal(version(), 4);
    assert.deepEqual(raw.all("SELECT version FROM backend_changes WHERE id = 'br-1' ORDER BY seq").map((r) => r.version), [1, 2, 3, 4]);
  });

  test("a writer that sets the version itself (replication) keeps it, and it is logged", () => {
    raw.run("UPDATE backends SET weight = 9, version = 42 WHERE id = 'br-1'");
    assert.equal(version(), 42);
    assert.equal(raw.get("SELECT MAX(version) AS v FROM backend_changes WHERE id = 'br-1'")?.v, 42);
  });

  test("versions stay single steps with recursive triggers on, and across INSERT OR REPLACE", () => {
    raw.exec("PRAGMA recursive_triggers = ON");
    raw.run("UPDATE backends SET healthy = 0 WHERE id = 'br-1'");
    assert.equal(version(), 2);
    raw.exec("PRAGMA recursive_triggers = OFF");
    raw.run("INSERT OR REPLACE INTO backends (id, app, region, wg_ip, port, healthy) VALUES ('br-1', 'game', 'sa', '10.0.0.1', 7000, 1)");
    assert.equal(version(), 3, "a replaced row continues from its logged version");
  });

  test("a raw row with a bad port is skipped and the rest still load", async () => {
    raw.run("INSERT INTO backends (id, app, region, wg_ip, port, healthy, weight, soft_limit, hard_limit, deleted) VALUES ('bad', 'x', 'us', '10.0.0.2', 70000, 1, 1, 100, 150, 0)");
    raw.run("INSERT INTO backends (id, region, wg_ip, port, deleted) VALUES ('odd-deleted', 'us', '10.0.0.3', 80, 2)");
    const { snapshot, skipped } = await store.readSnapshot();
    assert.deepEqual(snapshot.backends.map((b) => b.id), ["br-1"]);
    assert.deepEqual(skipped, [
      { id: "bad", reason: "port: expected an integer 1-65535, got 70000" },
      { id: "odd-deleted", reason: "deleted: expected 0 or 1 or NULL, got 2" },
    ]);
    const record = await store.getBackend("bad");
    assert.equal(record?.backend, null);
    assert.equal(record?.problem, "port: expected an integer 1-65535, got 70000");
  });

  test("renaming and deleting rows are logged for replication", () => {
    raw.run("UPDATE backends SET id = 'br-2' WHERE id = 'br-1'");
    raw.run("DELETE FROM backends WHERE id = 'br-2'");
    const log = raw.all("SELECT id, op, version FROM backend_changes ORDER BY seq").map((r) => `${r.op} ${r.id} v${r.version}`);
    assert.deepEqual(log, ["upsert br-1 v1", "delete br-1 v2", "upsert br-2 v2", "delete br-2 v3"]);
  });

  test("the change log stays bounded", () => {
    raw.exec("BEGIN");
    for (let i = 0; i < 10_050; i++) raw.run("UPDATE backends SET weight = ? WHERE id = 'br-1'", 1 + (i % 3));
    raw.exec("COMMIT");
    assert.equal(raw.get("SELECT COUNT(*) AS n FROM backend_changes")?.n, 10_000);
    assert.equal(version(), 10_051);
  });

  test("an operator's sqlite3 process edit is picked up", { skip: hasSqlite3 ? false : "sqlite3 CLI not installed" }, async () => {
    const marker = await store.changeMarker();
    const out = spawnSync("sqlite3", ["-cmd", ".timeout 5000", db.path, "UPDATE backends SET healthy = 0, weight = 3 WHERE id = 'br-1';"], { encoding: "utf8" });
    assert.equal(out.status, 0, out.stderr);
    assert.notEqual(await store.changeMarker(), marker);
    const [b] = (await store.readSnapshot()).snapshot.backends;
    assert.deepEqual([b?.healthy, b?.weight, b?.version], [false, 3, 2]);
  });
});

describe("concurrent writers", () => {
  let db: TempDb;
  beforeEach(() => { db = tempDb(); });
  afterEach(() => db.remove());

  test("two store handles in one process interleave writes and reads", async () => {
    const a = openLibsqlStore(db.path, { busyTimeoutMs: 5000 });
    const b = openLibsqlStore(db.path, { busyTimeoutMs: 5000 });
    try {
      await a.upsertBackend({ ...ROW, id: "a" });
      await b.upsertBackend({ ...ROW, id: "b" });
      for (let i = 0; i < 50; i++) {
        await a.setWeight("b", 1 + (i % 4));
        await b.setWeight("a", 1 + (i % 4));
        assert.equal((await a.readSnapshot()).snapshot.backends.length, 2);
      }
      assert.equal((await b.getBackend("a"))?.version, 51);
      assert.equal(await a.changeMarker(), await b.changeMarker());
    } finally {
      await a.close();
      await b.close();
    }
  });

  test("another process writing at the same time never sees 'database is locked'", async () => {
    const store = openLibsqlStore(db.path, { busyTimeoutMs: 10_000 });
    const childWrites = 300, parentWrites = 100;
    try {
      await store.upsertBackend({ ...ROW, id: "parent" });
      const [cmd, ...args] = runtimeCommand("test/store/write-loop.ts", db.path, "child", String(childWrites));
      const child = spawn(cmd!, args, { cwd: repoRoot, stdio: ["pipe", "pipe", "pipe"] });
      let stderr = "";
      child.stderr.on("data", (d) => { stderr += d; });
      const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
      await new Promise<void>((resolve, reject) => {
        child.stdout.on("data", (d) => { if (String(d).includes("ready")) resolve(); });
        void exited.then(() => reject(new Error(`child exited before starting: ${stderr}`)));
      });
      child.stdin.write("go\n"); // both sides start writing now
      for (let i = 0; i < parentWrites; i++) {
        await store.setWeight("parent", 1 + (i % 5));
        assert.ok((await store.readSnapshot()).snapshot.backends.length >= 1);
        await new Promise((r) => setTimeout(r, 0));
      }
      assert.equal(await exited, 0, `child failed: ${stderr}`);
      assert.equal((await store.getBackend("child"))?.version, childWrites);
      assert.equal((await store.getBackend("parent"))?.version, 1 + parentWrites);
    } finally {
      await store.close();
    }
  });
});

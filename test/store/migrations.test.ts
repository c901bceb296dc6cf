// A routing.db made by the original tools is migrated in place: every row kept, idempotent, and old-style
// writes after the migration are still versioned.
import { test, describe, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { openLibsqlStore } from "../../src/store/libsql-store.ts";
import { StoreError } from "../../src/store/store-errors.ts";
import { LATEST_SCHEMA_VERSION, REPLICATION_APPLYING } from "../../src/store/migrations.ts";
import { createLegacyDb, LEGACY_ROWS } from "../fixtures/legacy-db.ts";
import { rawConnection, tempDb, type TempDb } from "./store-fixture.ts";

const ORIGINAL = ["id", "app", "region", "wg_ip", "port", "healthy", "weight", "soft_limit", "hard_limit", "deleted"] as const;

function originalRows(path: string): unknown[][] {
  const raw = rawConnection(path);
  try {
    return raw.all(`SELECT ${ORIGINAL.join(", ")} FROM backends ORDER BY id`).map((r) => ORIGINAL.map((c) => r[c]));
  } finally {
    raw.close();
  }
}

describe("legacy routing.db", () => {
  let db: TempDb;
  beforeEach(() => {
    db = tempDb();
    createLegacyDb(db.path);
  });
  afterEach(() => db.remove());

  test("is migrated in place with every row and value kept", async () => {
    const before = originalRows(db.path);
    assert.equal(before.length, LEGACY_ROWS.length);
    const store = openLibsqlStore(db.path);
    await store.close();
    assert.deepEqual(originalRows(db.path), before);
    const raw = rawConnection(db.path);
    try {
      const rows = raw.all("SELECT id, country, version, created_at, updated_at FROM backends");
      for (const r of rows) {
        assert.equal(r.country, null, `${r.id}: no country invented`);
        assert.equal(r.version, 1, `${r.id}: existing rows start at version 1`);
        assert.equal(typeof r.created_at, "number");
        assert.equal(r.updated_at, r.created_at);
      }
      assert.equal(raw.get("SELECT COUNT(*) AS n FROM backend_changes")?.n, LEGACY_ROWS.length, "one baseline change per row");
    } finally {
      raw.close();
    }
  });

  test("routes the usable rows with NULL defaults and reports the unusable one", async () => {
    const store = openLibsqlStore(db.path);
    try {
      const { snapshot, skipped } = await store.readSnapshot();
      const byId = new Map(snapshot.backends.map((b) => [b.id, b]));
      assert.deepEqual([...byId.keys()], ["ap-node-1", "eu-node-1", "sa-node-1", "us-node-1"], "soft-deleted and invalid rows are left out");
      assert.deepEqual(skipped, [{ id: "bad-port", reason: "port: expected an integer 1-65535, got 70000" }]);
      const us = byId.get("us-node-1")!;
      assert.deepEqual([us.weight, us.softLimit, us.hardLimit, us.country], [1, 100, 150, null]);
      const eu = byId.get("eu-node-1")!;
      assert.deepEqual([eu.region, eu.healthy, eu.app, eu.host, eu.softLimit, eu.hardLimit], ["eu", false, "", "fd00::2:1", 50, 150]);
    } finally {
      await store.close();
    }
  });

  test("opening again changes nothing (idempotent)", async () => {
    const first = openLibsqlStore(db.path);
    const marker = await first.changeMarker();
    const snapshot = await first.readSnapshot();
    await first.close();
    const rowsAfterFirst = rawConnection(db.path);
    const dump = rowsAfterFirst.all("SELECT * FROM backends ORDER BY id");
    const ledger = rowsAfterFirst.all("SELECT version FROM schema_migrations ORDER BY version");
    rowsAfterFirst.close();

    const second = openLibsqlStore(db.path);
    try {
      assert.equal(await second.changeMarker(), marker);
      assert.deepEqual(await second.readSnapshot(), snapshot);
    } finally {
      await second.close();
    }
    const raw = rawConnection(db.path);
    try {
      assert.deepEqual(raw.all("SELECT * FROM backends ORDER BY id"), dump);
      assert.deepEqual(raw.all("SELECT version FROM schema_migrations ORDER BY version"), ledger);
      assert.deepEqual(ledger.map((r) => r.version), Array.from({ length: LATEST_SCHEMA_VERSION }, (_, i) => i + 1));
    } finally {
      raw.close();
    }
  });

  test("writes in the original tools' shape after the migration are stamped and versioned", async () => {
    const store = openLibsqlStore(db.path);
    const marker = await store.changeMarker();
    const raw = rawConnection(db.path);
    try {
      raw.run("INSERT INTO backends (id, app, region, wg_ip, port, healthy, weight, soft_limit, hard_limit, deleted) VALUES ('new-1', 'myapp', 'sa', '10.50.1.5', 8080, 1, 1, 100, 150, 0)");
      raw.run("UPDATE backends SET healthy = 0 WHERE id = 'sa-node-1'");
      const fresh = raw.get("SELECT version, created_at, updated_at FROM backends WHERE id = 'new-1'");
      assert.equal(fresh?.version, 1);
      assert.equal(typeof fresh?.created_at, "number");
      assert.equal(raw.get("SELECT version FROM backends WHERE id = 'sa-node-1'")?.version, 2);
      assert.notEqual(await store.changeMarker(), marker);
      const { snapshot } = await store.readSnapshot();
      assert.ok(snapshot.backends.some((b) => b.id === "new-1"));
      assert.equal(snapshot.backends.find((b) => b.id === "sa-node-1")?.healthy, false);
    } finally {
      raw.close();
      await store.close();
    }
  });

  test("step 4: the outbox queues every change but those logged while replication applies (its store_meta marker at 1)", async () => {
    await openLibsqlStore(db.path).close(); // migrated; every legacy row queued once
    const raw = rawConnection(db.path);
    try {
      raw.run("DELETE FROM replication_outbox");
      raw.exec("BEGIN IMMEDIATE");
      raw.run("INSERT INTO store_meta (key, value) VALUES (?, '1')", REPLICATION_APPLYING); // as ReplicaDb sets it
      raw.run("INSERT INTO backends (id, app, region, wg_ip, port, healthy, weight, soft_limit, hard_limit, deleted) VALUES ('remote-1', 'a', 'sa', '10.50.1.6', 80, 1, 1, 100, 150, 0)");
      raw.run("UPDATE backends SET weight = 7 WHERE id = 'sa-node-1'");
      raw.run("UPDATE store_meta SET value = '0' WHERE key = ?", REPLICATION_APPLYING);
      raw.run("UPDATE backends SET weight = 8 WHERE id = 'eu-node-1'");
      raw.exec("COMMIT");
      raw.run("DELETE FROM backends WHERE id = 'remote-1'");
      assert.deepEqual(raw.all("SELECT id FROM replication_outbox ORDER BY id").map((r) => r.id), ["eu-node-1", "remote-1"], "the local edits only");
      assert.equal(raw.get("SELECT COUNT(*) AS n FROM backend_changes WHERE id IN ('remote-1', 'sa-node-1', 'eu-node-1') AND seq > (SELECT MAX(seq) - 4 FROM backend_changes)")?.n, 4, "every change logged (the route table reads them)");
    } finally {
      raw.close();
    }
  });
});

describe("schema guard", () => {
  let db: TempDb;
  beforeEach(() => { db = tempDb(); });
  afterEach(() => db.remove());

  test("a file from a newer edgeProxy is refused, untouched", async () => {
    await openLibsqlStore(db.path).close();
    const raw = rawConnection(db.path);
    raw.run("INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES (?, 'from the future', 0)", LATEST_SCHEMA_VERSION + 1);
    raw.close();
    assert.throws(() => openLibsqlStore(db.path), (err: unknown) => {
      assert.ok(err instanceof StoreError);
      assert.match(err.message, new RegExp(`routing store .*routing\\.db: cannot open: schema version ${LATEST_SCHEMA_VERSION + 1} is newer than this edgeProxy knows \\(${LATEST_SCHEMA_VERSION}\\)`));
      return true;
    });
  });

  test("a backends table of another shape is refused, not altered", () => {
    const raw = rawConnection(db.path);
    raw.exec("CREATE TABLE backends (id TEXT PRIMARY KEY, address TEXT)");
    raw.run("INSERT INTO backends VALUES ('a', 'b')");
    raw.close();
    assert.throws(() => openLibsqlStore(db.path), /table backends lacks column\(s\) app, region, wg_ip, port, healthy, weight, soft_limit, hard_limit, deleted/);
    const check = rawConnection(db.path);
    try {
      assert.deepEqual(check.all("SELECT name FROM pragma_table_info('backends')").map((r) => r.name), ["id", "address"]);
      assert.equal(check.get("SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 'schema_migrations'")?.n, 0, "rolled back");
    } finally {
      check.close();
    }
  });
});

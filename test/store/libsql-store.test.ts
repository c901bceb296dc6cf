// The libSQL routing store: the shared store contract, plus what is particular to a file (schema, WAL).
import { test, describe, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { openLibsqlStore, type LibsqlStore } from "../../src/store/libsql-store.ts";
import { LATEST_SCHEMA_VERSION } from "../../src/store/migrations.ts";
import { rawConnection, tempDb, type TempDb } from "./store-fixture.ts";
import { routingStoreSuite } from "../_suites/routing-store.ts";

// The contract every routing store keeps (the same suite runs against PostgreSQL in pg-store.test.ts).
routingStoreSuite("libsql", async (options) => {
  const db = tempDb();
  return {
    store: openLibsqlStore(db.path, { busyTimeoutMs: 2000, ...options }),
    remove: async () => db.remove(),
    handEdit: async (sql) => {
      const raw = rawConnection(db.path);
      try {
        raw.exec(sql);
      } finally {
        raw.close();
      }
    },
  };
});

describe("libsql store", () => {
  let db: TempDb;
  let store: LibsqlStore;
  let clock = 1_000_000;

  beforeEach(() => {
    db = tempDb();
    clock = 1_000_000;
    store = openLibsqlStore(db.path, { busyTimeoutMs: 2000, source: "cli", origin: "pop-sa", now: () => clock });
  });
  afterEach(async () => {
    await store.close();
    db.remove();
  });

  test("creates the file with the original table, the added columns, the change log and WAL", () => {
    assert.ok(existsSync(db.path));
    const raw = rawConnection(db.path);
    try {
      const columns = raw.all("SELECT name FROM pragma_table_info('backends')").map((r) => r.name);
      assert.deepEqual(columns, ["id", "app", "region", "wg_ip", "port", "healthy", "weight", "soft_limit", "hard_limit", "deleted",
        "country", "created_at", "updated_at", "version", "origin", "hlc", "last_heartbeat_ms", "source"]);
      const tables = raw.all("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").map((r) => r.name);
      for (const t of ["backend_changes", "backends", "schema_migrations", "store_meta", "replication_outbox", "replication_keys"]) assert.ok(tables.includes(t), t);
      const triggers = raw.all("SELECT name FROM sqlite_master WHERE type = 'trigger'").length;
      assert.equal(triggers, 7); // six change triggers on backends, one feeding the replication outbox
      assert.equal(raw.get("PRAGMA journal_mode")?.journal_mode, "wal");
      assert.equal(raw.get("SELECT MAX(version) AS v FROM schema_migrations")?.v, LATEST_SCHEMA_VERSION);
    } finally {
      raw.close();
    }
  });

  test("a bad busyTimeoutMs is refused", () => {
    assert.throws(() => openLibsqlStore(db.path, { busyTimeoutMs: -1 }), /busyTimeoutMs: expected an integer >= 0, got -1/);
  });
});

// Defect 1 of issue 9: an operator lowers hard_limit below soft_limit by hand (sqlite3) during an
// incident. The backend stays in routing with soft limit = hard limit, capped at the hard limit, and
// one warning is logged per change of that row (not one per reload).
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { ReferenceEngine } from "../../src/core/reference-engine.ts";
import { RouteTable } from "../../src/core/route-table.ts";
import { RouteSync } from "../../src/routes/route-sync.ts";
import type { Logger } from "../../src/core/logger.ts";
import { openLibsqlStore } from "../../src/store/libsql-store.ts";
import { rawConnection } from "../store/store-fixture.ts";
import { tempDir } from "../fixtures/routing-db.ts";

test("a row whose hard_limit was lowered below soft_limit is routed up to hard_limit, with one warning per change", async () => {
  const dir = tempDir();
  const path = join(dir.dir, "routing.db");
  const store = openLibsqlStore(path, { busyTimeoutMs: 2000 });
  const warnings: { msg: string; fields: Record<string, unknown> }[] = [];
  const log: Logger = { debug() {}, info() {}, error() {}, warn: (msg, fields = {}) => { warnings.push({ msg, fields }); } };
  const engine = new ReferenceEngine(8);
  const table = new RouteTable(engine, "sa");
  const sync = new RouteSync(store, table, log);
  const backend = (id: string) => {
    const slot = table.slotOf(id);
    return slot === undefined ? null : table.backendAt(slot);
  };
  const sqlite3 = (sql: string) => {
    const raw = rawConnection(path);
    try { raw.exec(sql); } finally { raw.close(); }
  };
  try {
    await store.upsertBackend({ id: "sa-1", region: "sa", host: "127.0.0.1", port: 7001, softLimit: 100, hardLimit: 150 });
    await store.upsertBackend({ id: "sa-2", region: "sa", host: "127.0.0.1", port: 7002 });
    assert.equal(await sync.refresh(), true);
    assert.equal(backend("sa-1")?.hardLimit, 150);

    sqlite3("UPDATE backends SET hard_limit = 2 WHERE id = 'sa-1'");
    assert.equal(await sync.refresh(), true);
    const b = backend("sa-1");
    assert.ok(b, "the backend is still routed");
    assert.deepEqual([b.softLimit, b.hardLimit], [2, 2]);
    const adjusted = () => warnings.filter((w) => w.msg === "routing row adjusted");
    assert.equal(adjusted().length, 1);
    assert.equal(adjusted()[0]!.fields.id, "sa-1");
    assert.deepEqual(adjusted()[0]!.fields.reasons, ["soft_limit: 100 is above hard_limit 2; routed with soft_limit 2"]);
    assert.equal(warnings.filter((w) => w.msg === "routing row skipped").length, 0);

    // The hard limit is the cap: two connections, then the backend is no candidate.
    const slot = table.slotOf("sa-1")!;
    assert.ok(engine.acquire(slot) && engine.acquire(slot));
    assert.equal(engine.acquire(slot), false, "a third connection would pass hard_limit 2");
    engine.release(slot);
    engine.release(slot);

    // Another row changes: the store is read again, the unchanged sa-1 is not warned about again.
    sqlite3("UPDATE backends SET weight = 3 WHERE id = 'sa-2'");
    assert.equal(await sync.refresh(), true);
    assert.equal(adjusted().length, 1);

    // sa-1 itself changes again (still adjusted): one more warning.
    sqlite3("UPDATE backends SET hard_limit = 3 WHERE id = 'sa-1'");
    assert.equal(await sync.refresh(), true);
    assert.equal(adjusted().length, 2);
    assert.deepEqual([backend("sa-1")?.softLimit, backend("sa-1")?.hardLimit], [3, 3]);

    // Back in shape: no warning; a later bad edit warns again.
    sqlite3("UPDATE backends SET hard_limit = 200 WHERE id = 'sa-1'");
    await sync.refresh();
    assert.deepEqual([backend("sa-1")?.softLimit, backend("sa-1")?.hardLimit], [100, 200]);
    assert.equal(adjusted().length, 2);
  } finally {
    await store.close();
    dir.remove();
  }
});

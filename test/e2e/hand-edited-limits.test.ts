// Issue 9, defect 1, end to end: an operator lowers hard_limit below soft_limit with sqlite3 while the
// proxy runs. The backend must stay in routing, capped at the new hard limit, with one warning.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { startBackend, holdConnection, whoAnswers } from "../fixtures/backends.ts";
import { createRoutingDb } from "../fixtures/routing-db.ts";
import { startProxy } from "../fixtures/proxy-process.ts";

/** The operator's edit: the sqlite3 command line when installed (.ci/run installs it), else the same
 *  statement on a second libSQL connection. */
function sqlite3(db: { path: string; exec(sql: string): void }, sql: string): void {
  const run = spawnSync("sqlite3", ["-cmd", ".timeout 5000", db.path, sql], { encoding: "utf8" });
  if (run.error !== undefined && (run.error as NodeJS.ErrnoException).code === "ENOENT") return db.exec(sql);
  assert.equal(run.status, 0, `sqlite3 failed: ${run.stderr}`);
}

test("hard_limit lowered below soft_limit with sqlite3 on a running proxy: still routed, up to the new hard limit", async () => {
  const backend = await startBackend("only");
  const db = await createRoutingDb([{ id: "only", region: "sa", port: backend.port, soft_limit: 100, hard_limit: 150 }]);
  const proxy = await startProxy({ EDGEPROXY_DB_PATH: db.path, EDGEPROXY_REGION: "sa", EDGEPROXY_DB_RELOAD_SECS: "1" });
  const held: Awaited<ReturnType<typeof holdConnection>>[] = [];
  try {
    assert.equal(await whoAnswers(proxy.port), "only");
    sqlite3(db, "UPDATE backends SET hard_limit = 2 WHERE id = 'only'");
    const warning = await proxy.waitForLog("routing row adjusted", 20_000);
    assert.equal(warning.level, "warn");
    assert.equal(warning.id, "only");
    assert.deepEqual(warning.reasons, ["soft_limit: 100 is above hard_limit 2; routed with soft_limit 2"]);
    assert.equal(proxy.logs.filter((l) => l.msg === "routing row skipped").length, 0, "the row is not skipped");

    held.push(await holdConnection(proxy.port), await holdConnection(proxy.port));
    assert.deepEqual(held.map((h) => h.id), ["only", "only"], "routed up to the hard limit");
    assert.equal(await whoAnswers(proxy.port), "", "a third client is refused: the hard limit is the cap");
    assert.equal(proxy.logs.filter((l) => l.msg === "routing row adjusted").length, 1, "one warning for one change");
  } finally {
    for (const h of held) h.socket.destroy();
    await proxy.stop();
    await backend.close();
    db.close();
  }
});

// Issue 9, defect 4: `node add` without --app stored an empty app; the original tools' default is "myapp".
// In-process (runCli with a fake io), so it is quick on every runtime.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "../../src/cli/program.ts";
import { openLibsqlStore } from "../../src/store/libsql-store.ts";
import { tempDir } from "../fixtures/routing-db.ts";

async function cli(db: string, ...args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [], err: string[] = [];
  const code = await runCli(["--db", db, ...args], {
    env: {}, out: (t) => out.push(t), err: (t) => err.push(t), now: () => 1_000, exists: async () => true, serve: async () => {},
    reach: { fetch: async () => ({ status: 200, body: "" }), connect: async () => {} },
  });
  return { code, out, err };
}

test("node add without --app stores app myapp; --app overrides it", async () => {
  const tmp = tempDir();
  const db = join(tmp.dir, "routing.db");
  try {
    assert.equal((await cli(db, "node", "add", "sa-node-1", "sa", "10.50.1.1")).code, 0);
    assert.equal((await cli(db, "node", "add", "sa-node-2", "sa", "10.50.1.2", "--app", "game")).code, 0);
    const store = openLibsqlStore(db);
    try {
      assert.equal((await store.getBackend("sa-node-1"))?.backend?.app, "myapp");
      assert.equal((await store.getBackend("sa-node-2"))?.backend?.app, "game");
    } finally {
      await store.close();
    }
  } finally {
    tmp.remove();
  }
});

// Child process for the concurrency test: hammers one backend row of a routing.db through the store API
// (upserts and weight changes, back to back) and exits 1 on the first error, such as "database is locked".
// It prints "ready" once the store is open and starts on the first byte read from stdin, so the parent
// can start writing at the same moment. Usage: write-loop.ts <db path> <backend id> <writes>
import process from "node:process";
import { openLibsqlStore } from "../../src/store/libsql-store.ts";

const [path, id, countText] = process.argv.slice(2);
const store = openLibsqlStore(path!, { busyTimeoutMs: 10_000, source: "test" });
try {
  console.log("ready");
  await new Promise((resolve) => process.stdin.once("data", resolve));
  process.stdin.pause();
  for (let i = 0; i < Number(countText); i++) {
    if (i % 5 === 0) await store.upsertBackend({ id: id!, region: "sa", host: "10.0.0.9", port: 9000, weight: 1 + (i % 7) });
    else await store.setWeight(id!, 1 + (i % 7));
  }
  console.log("done");
} catch (err) {
  console.error(String(err));
  process.exitCode = 1;
} finally {
  await store.close();
}

// The CLI's handle on routing.db: changes stamped source "cli", a busy timeout so it queues behind a
// running proxy's writes instead of failing, and no file created by a read-only command.
import { openLibsqlStore, type LibsqlStore } from "../store/libsql-store.ts";
import type { CliContext } from "./program.ts";
import { UsageError } from "./usage-error.ts";

export const CLI_BUSY_TIMEOUT_MS = 10_000;

/** Runs `fn` with the store open, and closes it. `create`: make the file when it does not exist. */
export async function withStore<T>(context: CliContext, create: boolean, fn: (store: LibsqlStore) => Promise<T>): Promise<T> {
  const path = context.dbPath();
  if (!create && !(await context.io.exists(path))) {
    throw new UsageError("--db", `--db: no routing store at ${path} (create one with "edgeproxy db init", or point --db / EDGEPROXY_DB_PATH at it)`);
  }
  const store = openLibsqlStore(path, { busyTimeoutMs: CLI_BUSY_TIMEOUT_MS, source: "cli" });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

export function unknownId(id: string): UsageError {
  return new UsageError("id", `id: no backend ${JSON.stringify(id)} (see "edgeproxy db show --all")`);
}

// `edgeproxy db init|show|healthy`: create the store, list its backends with the running proxy's live
// counts when it publishes them (store/live-table.ts).
import type { Command } from "commander";
import type { CliContext } from "./program.ts";
import { isFresh, openLiveTable, type LiveRow } from "../store/live-table.ts";
import { backendLine, renderTable, type BackendLine } from "./backend-table.ts";
import { withStore, CLI_BUSY_TIMEOUT_MS } from "./open-store.ts";

interface ShowOptions {
  json?: boolean;
  all?: boolean;
}

export function addDbCommands(program: Command, context: CliContext): void {
  const db = program.command("db").description("create or inspect the routing store");

  db.command("init")
    .description("create the routing store (or migrate an older one in place); PostgreSQL when EDGEPROXY_POSTGRES_ENABLED=true")
    .action(async () => {
      const info = await withStore(context, true, async (_store, info) => info);
      context.io.out(`routing store ready: ${info.where} (schema version ${info.schemaVersion})`);
    });

  db.command("show")
    .description("list backends, with active connections when a proxy is running on this file")
    .option("--json", "print JSON instead of a table")
    .option("--all", "include soft-deleted backends")
    .action((opts: ShowOptions) => show(context, opts, () => true));

  db.command("healthy")
    .description("list the backends that can receive traffic (healthy, not deleted, valid)")
    .option("--json", "print JSON instead of a table")
    .action((opts: ShowOptions) => show(context, { json: opts.json }, (l) => l.healthy && !l.deleted && l.problem === null));
}

async function show(context: CliContext, opts: ShowOptions, keep: (line: BackendLine) => boolean): Promise<void> {
  const lines = await withStore(context, false, async (store, info) => {
    const records = await store.listBackends({ includeDeleted: opts.all === true });
    // With PostgreSQL the local file holds only the live state the proxy of this POP publishes; never create it.
    const live = info.kind === "libsql" || (await context.io.exists(context.dbPath())) ? readLive(context) : null;
    return records.map((r) => backendLine(r, live)).filter(keep);
  });
  if (opts.json) {
    context.io.out(JSON.stringify(lines, null, 2));
    return;
  }
  context.io.out(renderTable(lines));
  if (lines.length === 0) context.io.out("(no backends)");
}

/** The running proxy's live rows, or null when none publishes fresh state for this file. */
function readLive(context: CliContext): ReadonlyMap<string, LiveRow> | null {
  const table = openLiveTable(context.dbPath(), { busyTimeoutMs: CLI_BUSY_TIMEOUT_MS });
  try {
    const snapshot = table.read();
    return snapshot !== null && isFresh(snapshot, context.io.now()) ? snapshot.rows : null;
  } catch {
    return null; // live state is a convenience: the stored rows are still worth showing
  } finally {
    table.close();
  }
}

// What changed in routing.db since an earlier read, told by its change log (change-triggers.ts: every
// writer's change of a routed row logs the row's id; a rename logs the old id too). A cursor is the
// change marker plus the log entry at the marker's seq:
//
//   "<store_id>:<seq> <quote(id)> <op> <version> <at_ms>"        ("-" for the entry when there is none)
//
// The rows to read again are those whose ids are logged after it. No delta (the caller reads every
// row) when the entry at the cursor's seq is no longer the one read then (another store_id, the log
// pruned past it, a backup of this store restored, the log emptied and refilled by hand), or when an
// entry after it is missing.
import type { SqlConnection } from "./sql-connection.ts";
import type { ChangeRead } from "./routing-store.ts";
import { snapshotRows } from "./backend-input.ts";
import { SNAPSHOT_COLUMNS } from "./backend-sql.ts";

const HEAD_SQL = "SELECT (SELECT value FROM store_meta WHERE key = 'store_id') AS store, (SELECT COALESCE(MAX(seq), 0) FROM backend_changes) AS seq";
const ENTRY_SQL = "SELECT quote(id) || ' ' || op || ' ' || version || ' ' || at_ms AS entry FROM backend_changes WHERE seq = ?";

interface LogHead {
  readonly store: string;
  readonly seq: number;
}

function logHead(db: SqlConnection): LogHead {
  const row = db.get(HEAD_SQL);
  if (row === undefined || row.store === null) throw new Error("store_meta has no store_id (schema damaged?)");
  return { store: String(row.store), seq: Number(row.seq) };
}

const markerOf = (head: LogHead) => `${head.store}:${head.seq}`;

function cursorOf(db: SqlConnection, head: LogHead): string {
  const entry = db.get(ENTRY_SQL, [head.seq]);
  return `${markerOf(head)} ${entry === undefined ? "-" : String(entry.entry)}`;
}

/** The change marker: `${store_id}:${last seq}`, which moves on every logged change. */
export function changeMarker(db: SqlConnection): string {
  return markerOf(logHead(db));
}

/** The marker and the cursor of the log as it stands (call inside the read's transaction). */
export function changePoint(db: SqlConnection): { readonly generation: string; readonly cursor: string } {
  const head = logHead(db);
  return { generation: markerOf(head), cursor: cursorOf(db, head) };
}

/** The rows changed since `cursor`, or null when the log cannot say (see above). Call inside one read
 *  transaction, so the log and the rows come from the same moment. */
export function readChanges(db: SqlConnection, cursor: string): ChangeRead | null {
  const since = /^.*?:(\d+) /.exec(cursor);
  if (since === null) return null;
  const seq = Number(since[1]);
  const head = logHead(db);
  if (cursorOf(db, { store: head.store, seq }) !== cursor) return null;
  // Not DISTINCT in SQL: SQLite would scan the whole log by its id index for it.
  const logged = db.all("SELECT id FROM backend_changes WHERE seq > ?", [seq]);
  // Pruning removes the oldest entries only, so with the cursor's entry still there, a shortfall is a hole.
  if (logged.length !== head.seq - seq) return null;
  const rows = db.all(`SELECT ${SNAPSHOT_COLUMNS} FROM backends WHERE deleted IS NOT 1 AND id IN (SELECT id FROM backend_changes WHERE seq > ?)`, [seq]);
  const { backends, skipped, adjusted } = snapshotRows(rows);
  const routed = new Set(backends.map((b) => b.id));
  const removed = new Set<string>();
  for (const { id } of logged) if (typeof id === "string" && !routed.has(id)) removed.add(id);
  return { generation: markerOf(head), cursor: cursorOf(db, head), backends, removed: [...removed], skipped, adjusted };
}

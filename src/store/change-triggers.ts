// Row versioning done by the database itself, so every writer is covered: this store, the original
// tools, an operator's sqlite3 session, replication. For each row change:
//
//   INSERT (version left 0) ─► stamp: version = last logged version of that id + 1, created/updated_at
//   UPDATE (version untouched) ─► bump: version = OLD.version + 1, updated_at = now (unless set)
//   UPDATE (version set by the writer, e.g. replication) ─► kept as written
//   every version change / DELETE / id rename ─► one row in backend_changes (pruned to CHANGE_LOG_KEEP)
//
// A write that changes only last_heartbeat_ms is not a routing change: no bump, no log entry.
// The stamp and bump triggers change `version` with a nested UPDATE; that UPDATE is what the log
// trigger records. This holds with PRAGMA recursive_triggers OFF (a trigger may fire another one)
// and ON (the WHEN clauses stop the recursion).
import type { SqlConnection } from "./sql-connection.ts";

export const CHANGE_LOG_KEEP = 10_000;

/** Milliseconds since the Unix epoch in SQL that any SQLite (operator's sqlite3 included) runs. */
export const SQL_NOW_MS = "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)";

const TRIGGERS = ["backends_stamp_insert", "backends_log_insert", "backends_bump_update", "backends_log_update", "backends_log_rename", "backends_log_delete"] as const;

/** Columns whose change alone does not make a new row version. */
const UNVERSIONED = new Set(["last_heartbeat_ms", "version", "updated_at"]);

function logChange(id: string, op: "upsert" | "delete", version: string, where = ""): string {
  return `INSERT INTO backend_changes (id, op, version, at_ms) SELECT ${id}, '${op}', ${version}, ${SQL_NOW_MS}${where};
  DELETE FROM backend_changes WHERE seq <= (SELECT MAX(seq) FROM backend_changes) - ${CHANGE_LOG_KEEP};`;
}

/** (Re)creates the triggers for the table's current columns; run after every migration that adds one. */
export function installChangeTriggers(db: SqlConnection): void {
  const columns = db.all("SELECT name FROM pragma_table_info('backends')").map((r) => String(r.name));
  const versioned = columns.filter((c) => !UNVERSIONED.has(c)).map((c) => c.replaceAll('"', '""'))
    .map((c) => `NEW."${c}" IS NOT OLD."${c}"`);
  for (const name of TRIGGERS) db.exec(`DROP TRIGGER IF EXISTS ${name}`);
  db.exec(`
CREATE TRIGGER backends_stamp_insert AFTER INSERT ON backends WHEN NEW.version = 0 BEGIN
  UPDATE backends SET
    version = COALESCE((SELECT MAX(version) FROM backend_changes WHERE id = NEW.id), 0) + 1,
    created_at = COALESCE(NEW.created_at, ${SQL_NOW_MS}),
    updated_at = COALESCE(NEW.updated_at, ${SQL_NOW_MS})
  WHERE rowid = NEW.rowid;
END;
CREATE TRIGGER backends_log_insert AFTER INSERT ON backends WHEN NEW.version <> 0 BEGIN
  ${logChange("NEW.id", "upsert", "NEW.version")}
END;
CREATE TRIGGER backends_bump_update AFTER UPDATE ON backends
WHEN NEW.version = OLD.version AND (NEW.last_heartbeat_ms IS OLD.last_heartbeat_ms OR ${versioned.join(" OR ")}) BEGIN
  UPDATE backends SET
    version = OLD.version + 1,
    updated_at = CASE WHEN NEW.updated_at IS OLD.updated_at THEN ${SQL_NOW_MS} ELSE NEW.updated_at END
  WHERE rowid = NEW.rowid;
END;
CREATE TRIGGER backends_log_update AFTER UPDATE ON backends WHEN NEW.version <> OLD.version BEGIN
  ${logChange("NEW.id", "upsert", "NEW.version")}
END;
CREATE TRIGGER backends_log_rename AFTER UPDATE OF id ON backends WHEN NEW.id IS NOT OLD.id BEGIN
  ${logChange("OLD.id", "delete", "OLD.version + 1")}
END;
CREATE TRIGGER backends_log_delete AFTER DELETE ON backends BEGIN
  ${logChange("OLD.id", "delete", "OLD.version + 1")}
END;`);
}

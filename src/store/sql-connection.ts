// The few synchronous SQL calls the store and its migrations make, over one libsql connection.
// Statements are prepared once per SQL text; parameters are always bound, never spliced into SQL.
import Database from "libsql";

export type SqlRow = Record<string, unknown>;

export interface SqlConnection {
  exec(sql: string): void;
  all(sql: string, params?: readonly unknown[]): SqlRow[];
  get(sql: string, params?: readonly unknown[]): SqlRow | undefined;
  /** Rows changed by the statement itself (not by its triggers). */
  run(sql: string, params?: readonly unknown[]): number;
  close(): void;
}

interface LibsqlStatement {
  all(params: readonly unknown[]): SqlRow[];
  get(params: readonly unknown[]): SqlRow | undefined;
  run(params: readonly unknown[]): { changes: number };
}

interface LibsqlDatabase {
  prepare(sql: string): LibsqlStatement;
  exec(sql: string): void;
  close(): void;
}

/** Opens (creating if missing) a database file. Throws the driver's error (it carries `code`). */
export function openSqlConnection(path: string): SqlConnection {
  const db = new Database(path) as unknown as LibsqlDatabase;
  const statements = new Map<string, LibsqlStatement>();
  const prepared = (sql: string): LibsqlStatement => {
    let stmt = statements.get(sql);
    if (stmt === undefined) statements.set(sql, (stmt = db.prepare(sql)));
    return stmt;
  };
  return {
    exec: (sql) => db.exec(sql),
    all: (sql, params = []) => prepared(sql).all(params).map(withoutMetadata),
    get: (sql, params = []) => {
      const row = prepared(sql).get(params);
      return row === undefined ? undefined : withoutMetadata(row);
    },
    run: (sql, params = []) => prepared(sql).run(params).changes,
    close: () => {
      statements.clear();
      db.close();
    },
  };
}

/** BEGIN … COMMIT around `fn`, rolled back when it throws. */
export function inTransaction<T>(db: SqlConnection, begin: "BEGIN" | "BEGIN IMMEDIATE", fn: () => T): T {
  db.exec(begin);
  try {
    const result = fn();
    db.exec("COMMIT");
    return result;
  } catch (err) {
    try {
      db.exec("ROLLBACK");
    } catch {
      // SQLite may have rolled back already (e.g. SQLITE_BUSY on COMMIT); keep the first error.
    }
    throw err;
  }
}

/** libsql adds a `_metadata` key (query timing) to rows; it is not a column. */
function withoutMetadata(row: SqlRow): SqlRow {
  if (!("_metadata" in row)) return row;
  const { _metadata, ...columns } = row;
  return columns;
}

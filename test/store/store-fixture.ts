// Helpers for the store tests: a temp routing.db path and a second, independent connection to it
// (what an operator's sqlite3 session is).
import Database from "libsql";
import { join } from "node:path";
import { tempDir } from "../fixtures/routing-db.ts";

export interface TempDb {
  readonly dir: string;
  readonly path: string;
  remove(): void;
}

export function tempDb(name = "routing.db"): TempDb {
  const { dir, remove } = tempDir("edgeproxy-store-");
  return { dir, path: join(dir, name), remove };
}

export interface RawConnection {
  exec(sql: string): void;
  run(sql: string, ...params: unknown[]): number;
  all(sql: string, ...params: unknown[]): Record<string, unknown>[];
  get(sql: string, ...params: unknown[]): Record<string, unknown> | undefined;
  close(): void;
}

interface LibsqlStatement {
  run(params: unknown[]): { changes: number };
  all(params: unknown[]): Record<string, unknown>[];
  get(params: unknown[]): Record<string, unknown> | undefined;
}

/** A plain libsql connection, no store code involved. */
export function rawConnection(path: string, busyTimeoutMs = 5000): RawConnection {
  const db = new Database(path) as unknown as { exec(sql: string): void; prepare(sql: string): LibsqlStatement; close(): void };
  db.exec(`PRAGMA busy_timeout = ${busyTimeoutMs}`);
  const strip = (row: Record<string, unknown> | undefined) => {
    if (row === undefined) return undefined;
    const { _metadata, ...rest } = row;
    return rest;
  };
  return {
    exec: (sql) => db.exec(sql),
    run: (sql, ...params) => db.prepare(sql).run(params).changes,
    all: (sql, ...params) => db.prepare(sql).all(params).map((r) => strip(r)!),
    get: (sql, ...params) => strip(db.prepare(sql).get(params)),
    close: () => db.close(),
  };
}

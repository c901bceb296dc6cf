// The PostgreSQL connection settings shared by the store's pool and its LISTEN connection, and the one
// place that turns a driver error into a StoreError — with the URL's password never in the message.
import pgDriver from "pg";
import { StoreError } from "./store-errors.ts";

// The part of the `pg` driver used here, typed (the package ships no types, and @types/pg is not a dependency).
export interface PgQueryResult<R> {
  readonly rows: R[];
  readonly rowCount: number | null;
}
export interface PgQueryable {
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<PgQueryResult<R>>;
}
export interface PgPoolClient extends PgQueryable {
  /** true (or an error): the connection is closed instead of going back to the pool. */
  release(destroy?: boolean): void;
}
export interface PgPool extends PgQueryable {
  connect(): Promise<PgPoolClient>;
  end(): Promise<void>;
  on(event: "error", listener: (err: Error) => void): void;
}
export interface PgNotification {
  readonly channel: string;
  readonly payload?: string;
}
export interface PgClient extends PgQueryable {
  connect(): Promise<void>;
  end(): Promise<void>;
  on(event: "error", listener: (err: Error) => void): void;
  on(event: "end", listener: () => void): void;
  on(event: "notification", listener: (n: PgNotification) => void): void;
  removeAllListeners(event: string): void;
}
type ClientConfig = Readonly<Record<string, unknown>>;
const pg = pgDriver as unknown as {
  Pool: new (config: ClientConfig) => PgPool;
  Client: new (config: ClientConfig) => PgClient;
  types: { getTypeParser(oid: number, format?: string): (value: string) => unknown };
};

export function newPgClient(settings: PgSettings): PgClient {
  return new pg.Client(clientConfig(settings));
}

export interface PgSettings {
  /** postgres://user:password@host:port/database[?options=-c search_path=…] */
  readonly url: string;
  readonly maxConnections: number;
  readonly minConnections: number;
  readonly connectTimeoutMs: number;
  /** Enforced twice: by the server (statement_timeout) and by the client (a dead link answers nothing). */
  readonly queryTimeoutMs: number;
}

/** int8 (counts, ms timestamps, versions) as a JS number instead of pg's default string. */
const INT8_OID = 20;
const types = {
  getTypeParser: (oid: number, format?: string) => (oid === INT8_OID ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format ?? "text")),
};

/** Options for one pg.Client or pg.Pool from the settings. */
export function clientConfig(settings: PgSettings): ClientConfig {
  return {
    connectionString: settings.url,
    connectionTimeoutMillis: settings.connectTimeoutMs,
    // The client-side timeout is a little longer so the server's cancel (a clean error) usually wins.
    query_timeout: settings.queryTimeoutMs + 500,
    statement_timeout: settings.queryTimeoutMs,
    application_name: "edgeproxy",
    // TCP keepalive after 10 s idle: a LISTEN connection silently cut (no RST) is noticed and replaced.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    types,
  };
}

export function createPool(settings: PgSettings, onIdleError: (err: StoreError) => void): PgPool {
  const pool = new pg.Pool({
    ...clientConfig(settings),
    max: settings.maxConnections,
    min: settings.minConnections,
    idleTimeoutMillis: 30_000,
  });
  // An idle pooled connection that dies (server restart) emits 'error' on the pool: unhandled, it
  // would end the process. The next query simply opens a new connection.
  pool.on("error", (err) => onIdleError(pgError(settings.url, "keep an idle connection", err)));
  return pool;
}

/** pg internals reached only to force a close: a client's socket, and the clients a pool holds. */
interface WithSocket { readonly connection?: { readonly stream?: { destroy(): void } } }
interface WithClients { readonly _clients?: readonly WithSocket[] }

/**
 * Ends a pool or client without hanging: a graceful end waits for the server to close each socket, which a
 * frozen server or a silently cut link never does (nor does a pool with a client never released). After
 * `graceMs` the remaining sockets are destroyed.
 */
export async function endWithin(target: PgPool | PgClient, graceMs: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const ended = target.end().then(() => true, () => true);
  const late = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), graceMs); });
  const done = await Promise.race([ended, late]);
  clearTimeout(timer);
  if (done) return;
  const clients = (target as unknown as WithClients)._clients ?? [target as unknown as WithSocket];
  for (const c of [...clients]) c.connection?.stream?.destroy();
  await Promise.race([ended, new Promise((r) => setTimeout(r, 100))]);
}

/** The URL as it may be shown: no password, no query string (options may carry secrets too). */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    const user = u.username ? `${decodeURIComponent(u.username)}@` : "";
    return `${u.protocol}//${user}${u.host}${u.pathname}`;
  } catch {
    return "postgres://(unparsable URL)";
  }
}

/** Removes the URL's password (raw and decoded) and the URL itself from a message. */
export function redact(url: string, message: string): string {
  let out = message.split(url).join(displayUrl(url));
  try {
    const password = new URL(url).password;
    for (const secret of new Set([password, decodeURIComponent(password)])) {
      if (secret.length > 0) out = out.split(secret).join("***");
    }
  } catch {
    // An unparsable URL has no password we could find; config validation refuses those anyway.
  }
  return out;
}

export function pgError(url: string, action: string, err: unknown): StoreError {
  const raw = err as { code?: unknown; message?: unknown };
  const code = typeof raw?.code === "string" ? raw.code : null;
  const message = redact(url, typeof raw?.message === "string" ? raw.message : String(err));
  return new StoreError(`routing store ${displayUrl(url)}: cannot ${action}: ${message}${code ? ` (${code})` : ""}`, code);
}

/** Quotes an identifier for SQL ("my schema" → "\"my schema\""). */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

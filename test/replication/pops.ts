// Three POP processes replicating through a private NATS cluster, for the replication tests: each with
// its own routing.db, API on an ephemeral port, the periodic reload set to an hour (so only replication
// can deliver a change quickly), and helpers to change and read each POP's store.
import Database from "libsql";
import { join } from "node:path";
import { startProxy, type ProxyProcess } from "../fixtures/proxy-process.ts";
import { whoAnswers } from "../fixtures/backends.ts";
import { runtime } from "../fixtures/runtime.ts";
import { NATS_PASSWORD, NATS_USER } from "../fixtures/nats-cluster.ts";
import { ROUTING_COLUMNS } from "../../src/replication/replicated-row.ts";

export interface Pop {
  readonly id: string;
  readonly dbPath: string;
  readonly on: typeof runtime;
  proxy: ProxyProcess;
  apiPort: number;
  /** NATS URLs this POP uses (a relay's, for the partition test). */
  natsUrl: string;
  extraEnv: Record<string, string>;
}

export function popEnv(pop: { id: string; dbPath: string; natsUrl: string; extraEnv?: Record<string, string> }): Record<string, string> {
  return {
    EDGEPROXY_DB_PATH: pop.dbPath,
    EDGEPROXY_DB_RELOAD_SECS: "3600",
    EDGEPROXY_REGION: "sa",
    EDGEPROXY_API_ENABLED: "true",
    EDGEPROXY_API_LISTEN_ADDR: "127.0.0.1:0",
    EDGEPROXY_REPLICATION_ENABLED: "true",
    EDGEPROXY_REPLICATION_NATS_URL: pop.natsUrl,
    EDGEPROXY_REPLICATION_NATS_USER: NATS_USER,
    EDGEPROXY_REPLICATION_NATS_PASSWORD: NATS_PASSWORD,
    EDGEPROXY_POP_ID: pop.id,
    EDGEPROXY_REPLICATION_REPLICAS: "3",
    ...pop.extraEnv,
  };
}

export async function startPop(id: string, dir: string, natsUrl: string, on: typeof runtime = runtime, extraEnv: Record<string, string> = {}, startTimeoutMs?: number): Promise<Pop> {
  const dbPath = join(dir, `${id}.db`);
  const proxy = await startProxy(popEnv({ id, dbPath, natsUrl, extraEnv }), on, startTimeoutMs);
  const api = await proxy.waitForLog("edgeProxy API listening");
  return { id, dbPath, on, proxy, apiPort: Number(String(api.addr).split(":").pop()), natsUrl, extraEnv };
}

export async function restartPop(pop: Pop, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  await pop.proxy.stop(signal);
  await startAgain(pop);
}

export async function startAgain(pop: Pop): Promise<void> {
  pop.proxy = await startProxy(popEnv(pop), pop.on);
  const api = await pop.proxy.waitForLog("edgeProxy API listening");
  pop.apiPort = Number(String(api.addr).split(":").pop());
}

/** Runs SQL on the POP's routing.db from this process, as an operator's sqlite3 session would. */
export function sqlite(pop: { dbPath: string }, sql: string, ...params: unknown[]): void {
  const db = new Database(pop.dbPath);
  try {
    db.exec("PRAGMA busy_timeout = 5000");
    if (params.length === 0) db.exec(sql);
    else db.prepare(sql).run(params);
  } finally {
    db.close();
  }
}

/** The routing columns of every row, sorted: equal on every POP once replication converged. */
export function canonicalDump(pop: { dbPath: string }): string {
  const db = new Database(pop.dbPath);
  try {
    db.exec("PRAGMA busy_timeout = 5000");
    const rows = db.prepare(`SELECT ${ROUTING_COLUMNS.join(", ")} FROM backends ORDER BY id`).all([]) as Record<string, unknown>[];
    return JSON.stringify(rows.map((r) => ROUTING_COLUMNS.map((c) => r[c])));
  } finally {
    db.close();
  }
}

export function rowOf(pop: { dbPath: string }, id: string): Record<string, unknown> | undefined {
  const db = new Database(pop.dbPath);
  try {
    db.exec("PRAGMA busy_timeout = 5000");
    return db.prepare("SELECT * FROM backends WHERE id = ?").get([id]) as Record<string, unknown> | undefined;
  } finally {
    db.close();
  }
}

let nextSource = 0;
/** A fresh loopback source address per connection, so client affinity never hides a route change. */
export function freshSource(): string {
  nextSource++;
  return `127.3.${(nextSource >> 8) & 255}.${(nextSource & 255) || 1}`;
}

export const who = (pop: Pop) => whoAnswers(pop.proxy.port, freshSource()).catch(() => "");

/** Polls `probe` until it is true; resolves with the time it took, rejects after `timeoutMs`. */
export async function until(what: string, probe: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 15): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await probe()) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export async function api(pop: Pop, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`http://127.0.0.1:${pop.apiPort}${path}`, { method, headers: body === undefined ? {} : { "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

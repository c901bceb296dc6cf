// An API over a real routing store in a temp dir, with a clock the test moves by hand.
import { join } from "node:path";
import { createApi, type ApiDeps } from "../../src/api/create-api.ts";
import { openLibsqlStore, type LibsqlStore } from "../../src/store/libsql-store.ts";
import { tempDir } from "../fixtures/routing-db.ts";

export const TOKEN = "test-token-0123456789";
export const T0 = 1_700_000_000_000;

export interface ApiFixture {
  readonly app: ReturnType<typeof createApi>;
  readonly store: LibsqlStore;
  readonly path: string;
  readonly clock: { now: number };
  /** Changes the app reported through onChange. */
  readonly changes: { count: number };
  request(path: string, init?: RequestInit & { json?: unknown }): Promise<{ status: number; body: any; headers: Headers }>;
  close(): Promise<void>;
}

export function apiFixture(options: Partial<Pick<ApiDeps, "token" | "heartbeatTtlMs" | "routableBackends" | "status">> = {}): ApiFixture {
  const tmp = tempDir("edgeproxy-api-");
  const path = join(tmp.dir, "routing.db");
  const clock = { now: T0 };
  const store = openLibsqlStore(path, { source: "api", now: () => clock.now });
  const changes = { count: 0 };
  const app = createApi({
    store,
    now: () => clock.now,
    heartbeatTtlMs: options.heartbeatTtlMs ?? 60_000,
    token: options.token ?? null,
    routableBackends: options.routableBackends ?? (() => 0),
    status: options.status,
    startedAtMs: T0 - 5000,
    onChange: () => { changes.count++; },
  });
  return {
    app, store, path, clock, changes,
    async request(url, init = {}) {
      const { json, ...rest } = init;
      const res = await app.request(url, json === undefined ? rest : { method: "POST", ...rest, body: JSON.stringify(json) });
      const text = await res.text();
      let body: unknown = text;
      try { body = JSON.parse(text); } catch { /* not JSON: the test says so */ }
      return { status: res.status, body, headers: res.headers };
    },
    async close() {
      await store.close();
      tmp.remove();
    },
  };
}

/** A valid registration body; override fields per test. */
export function registration(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { id: "eu-1", app: "game", region: "eu", ip: "10.0.0.1", port: 7000, ...overrides };
}

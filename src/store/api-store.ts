// The API's handle on routing.db, here in store/ so the API names what it needs and the store layer picks
// the technology. The driver is synchronous and runs on the proxy's event loop, so a write that waited
// for another process's lock (the CLI, a sqlite3 session) inside the driver would stall every client
// connection for as long. Instead the driver waits a few milliseconds at most, and
// a busy store is retried with timers — the event loop stays free — for about API_STORE_PATIENCE_MS
// before the request fails with a StoreError (503).
import { openLibsqlStore } from "./libsql-store.ts";
import type { RoutingStore } from "./routing-store.ts";
import { isLockBusy } from "./store-errors.ts";

/** Longest the driver may block the event loop waiting for a lock, per attempt. */
export const API_BUSY_WAIT_MS = 10;
/** How long, in timer waits, a request keeps retrying a locked store. */
export const API_STORE_PATIENCE_MS = 5000;
const FIRST_PAUSE_MS = 5;
const MAX_PAUSE_MS = 100;

export interface RetryOptions {
  readonly patienceMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface ApiStoreOptions extends RetryOptions {
  readonly now: () => number;
  readonly fileIdentity?: () => string | null;
}

/** Opens `path` for the API: changes stamped source "api", lock waits on timers. Throws a StoreError. */
export function openApiStore(path: string, options: ApiStoreOptions): RoutingStore {
  const store = openLibsqlStore(path, { busyTimeoutMs: API_BUSY_WAIT_MS, source: "api", now: options.now, fileIdentity: options.fileIdentity });
  return retryWhenBusy(store, options);
}

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** `store` with every call retried while the store is busy, with growing pauses, for `patienceMs` in all. */
export function retryWhenBusy(store: RoutingStore, options: RetryOptions = {}): RoutingStore {
  const patienceMs = options.patienceMs ?? API_STORE_PATIENCE_MS;
  const sleep = options.sleep ?? pause;
  // Every call retried is idempotent, and a busy error means the write did not happen.
  const retry = async <T>(call: () => Promise<T>): Promise<T> => {
    let waited = 0;
    for (let delay = FIRST_PAUSE_MS; ; delay = Math.min(2 * delay, MAX_PAUSE_MS)) {
      try {
        return await call();
      } catch (err) {
        if (!isLockBusy(err) || waited >= patienceMs) throw err;
        const ms = Math.min(delay, patienceMs - waited);
        await sleep(ms);
        waited += ms;
      }
    }
  };
  return {
    changeMarker: () => retry(() => store.changeMarker()),
    readSnapshot: () => retry(() => store.readSnapshot()),
    upsertBackend: (input) => retry(() => store.upsertBackend(input)),
    setHealthy: (id, healthy) => retry(() => store.setHealthy(id, healthy)),
    setWeight: (id, weight) => retry(() => store.setWeight(id, weight)),
    setLimits: (id, soft, hard) => retry(() => store.setLimits(id, soft, hard)),
    softDelete: (id) => retry(() => store.softDelete(id)),
    enable: (id) => retry(() => store.enable(id)),
    deleteBackend: (id) => retry(() => store.deleteBackend(id)),
    touchHeartbeat: (id, nowMs) => retry(() => store.touchHeartbeat(id, nowMs)),
    expireHeartbeats: (cutoffMs) => retry(() => store.expireHeartbeats(cutoffMs)),
    getBackend: (id) => retry(() => store.getBackend(id)),
    listBackends: (opts) => retry(() => store.listBackends(opts)),
    close: () => store.close(),
  };
}

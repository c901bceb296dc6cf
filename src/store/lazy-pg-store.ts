// A PostgreSQL store that can be created while the server is down: every call first makes sure the
// real store is open (connect + migrate), retrying on the next call when that fails. This is what lets
// a POP start from its saved snapshot during an outage and catch up by itself once the server is back.
import type { RoutingStore } from "./routing-store.ts";
import { openPgStore, type PgStore, type PgStoreOptions } from "./pg-store.ts";
import type { PgSettings } from "./pg-connection.ts";
import { displayUrl, pgError } from "./pg-connection.ts";

export interface LazyPgStore extends RoutingStore {
  readonly displayUrl: string;
  /** The open store, or null while it could not be opened yet. */
  readonly current: PgStore | null;
}

export function lazyPgStore(settings: PgSettings, options: PgStoreOptions & { readonly onOpen?: (store: PgStore) => void } = {}): LazyPgStore {
  let store: PgStore | null = null;
  let opening: Promise<PgStore> | null = null;
  let closed = false;
  const open = (): Promise<PgStore> => {
    if (closed) return Promise.reject(pgError(settings.url, "use the store", new Error("the store is closed")));
    if (store !== null) return Promise.resolve(store);
    opening ??= openPgStore(settings, options).then(
      async (s) => {
        opening = null;
        if (closed) {
          await s.close();
          throw pgError(settings.url, "use the store", new Error("the store is closed"));
        }
        store = s;
        options.onOpen?.(s);
        return s;
      },
      (err) => {
        opening = null;
        throw err;
      },
    );
    return opening;
  };
  return {
    displayUrl: displayUrl(settings.url),
    get current() {
      return store;
    },
    changeMarker: async () => (await open()).changeMarker(),
    readSnapshot: async () => (await open()).readSnapshot(),
    upsertBackend: async (input) => (await open()).upsertBackend(input),
    setHealthy: async (id, healthy) => (await open()).setHealthy(id, healthy),
    setWeight: async (id, weight) => (await open()).setWeight(id, weight),
    setLimits: async (id, soft, hard) => (await open()).setLimits(id, soft, hard),
    softDelete: async (id) => (await open()).softDelete(id),
    enable: async (id) => (await open()).enable(id),
    deleteBackend: async (id) => (await open()).deleteBackend(id),
    touchHeartbeat: async (id, nowMs) => (await open()).touchHeartbeat(id, nowMs),
    expireHeartbeats: async (cutoffMs) => (await open()).expireHeartbeats(cutoffMs),
    getBackend: async (id) => (await open()).getBackend(id),
    listBackends: async (opts) => (await open()).listBackends(opts),
    async close() {
      closed = true;
      await opening?.catch(() => undefined);
      await store?.close();
      store = null;
    },
  };
}

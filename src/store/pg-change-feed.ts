// Change propagation from PostgreSQL: one dedicated connection LISTENs on the channel the change
// triggers NOTIFY (pg-schema.ts) and calls `onChange` for a change to our schema — within a round trip
// of the writer's COMMIT, whoever wrote (any POP's API or CLI, psql). A lost connection is retried on a
// timer; every (re)connection calls `onChange` too, since notifications sent while it was down are gone.
// The periodic reload stays the safety net.
import { endWithin, newPgClient, pgError, type PgClient, type PgSettings } from "./pg-connection.ts";
import { CHANGE_CHANNEL } from "./pg-schema.ts";
import type { StoreError } from "./store-errors.ts";

export interface ChangeFeedOptions {
  readonly settings: PgSettings;
  /** Only notifications with this payload (the schema holding our `backends`) count. */
  readonly schema: string;
  readonly onChange: () => void;
  /** Called once per state change: listening (error null) or lost (the error). */
  readonly onState?: (listening: boolean, error: StoreError | null) => void;
  /** Wait before reconnecting. Default 1000 ms. */
  readonly retryMs?: number;
}

export interface ChangeFeed {
  readonly listening: boolean;
  close(): Promise<void>;
}

export function startChangeFeed(options: ChangeFeedOptions): ChangeFeed {
  const { settings, schema, onChange } = options;
  const retryMs = options.retryMs ?? 1000;
  let client: PgClient | null = null;
  let listening = false;
  let reported: boolean | null = null;
  let closed = false;
  let timer: ReturnType<typeof setTimeout> | null = null;

  const report = (up: boolean, error: StoreError | null) => {
    listening = up;
    if (reported === up) return;
    reported = up;
    options.onState?.(up, error);
  };

  const lost = (c: PgClient, err: unknown) => {
    if (client !== c) return; // already handled (error and end both arrive)
    client = null;
    c.removeAllListeners("notification");
    c.on("error", () => undefined); // a late error on a dropped client must not be unhandled
    void endWithin(c, settings.connectTimeoutMs);
    if (closed) return;
    report(false, pgError(settings.url, "listen for changes", err));
    timer = setTimeout(connect, retryMs);
  };

  const connect = async () => {
    timer = null;
    if (closed) return;
    const c = newPgClient(settings);
    client = c;
    c.on("error", (err) => lost(c, err));
    c.on("end", () => lost(c, new Error("connection ended")));
    c.on("notification", (n) => {
      if (n.channel === CHANGE_CHANNEL && n.payload === schema) onChange();
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${CHANGE_CHANNEL}`);
    } catch (err) {
      lost(c, err);
      return;
    }
    if (closed || client !== c) return;
    report(true, null);
    onChange(); // whatever changed while we were not listening
  };

  void connect();
  return {
    get listening() {
      return listening;
    },
    async close() {
      closed = true;
      if (timer !== null) clearTimeout(timer);
      const c = client;
      client = null;
      if (c !== null) {
        c.on("error", () => undefined);
        await endWithin(c, settings.connectTimeoutMs);
      }
    },
  };
}

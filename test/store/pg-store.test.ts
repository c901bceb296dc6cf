// The PostgreSQL routing store: the shared store contract, plus schema creation, migration of the
// original edgeProxy PostgreSQL table, concurrent initialisation, hand edits, NOTIFY, and errors that
// never show the password. Runs against EDGEPROXY_TEST_POSTGRES_URL (default the local server), each
// test in its own schema.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { openPgStore, type PgStore } from "../../src/store/pg-store.ts";
import { ORIGINAL_PG_BACKENDS, PG_LATEST_SCHEMA_VERSION } from "../../src/store/pg-schema.ts";
import { startChangeFeed } from "../../src/store/pg-change-feed.ts";
import { StoreError } from "../../src/store/store-errors.ts";
import type { PgSettings } from "../../src/store/pg-connection.ts";
import net from "node:net";
import process from "node:process";
import { createTestSchema, postgresSkipReason, rawClient, sql, TEST_POSTGRES_URL, type TestSchema } from "../fixtures/postgres.ts";
import { startFrozenLink } from "../fixtures/frozen-link.ts";
import { routingStoreSuite } from "../_suites/routing-store.ts";

const skip = (await postgresSkipReason()) ?? false;

const settings = (url: string): PgSettings => ({ url, maxConnections: 4, minConnections: 1, connectTimeoutMs: 3000, queryTimeoutMs: 5000 });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits (a condition, 10 s at most) until `check` holds. */
async function until(what: string, check: () => boolean): Promise<void> {
  for (const deadline = Date.now() + 10_000; !check(); await sleep(10)) {
    if (Date.now() > deadline) throw new Error(`${what}: not within 10 s`);
  }
}

routingStoreSuite("postgres", async (options) => {
  const schema = await createTestSchema();
  return { store: await openPgStore(settings(schema.url), options), remove: () => schema.drop(), handEdit: async (text) => { await sql(schema.url, text); } };
}, { skip });

describe("postgres store", { skip }, () => {
  let schema: TestSchema;
  before(async () => { schema = await createTestSchema(); });
  after(async () => { await schema?.drop(); });

  test("initialize creates the backends table, its two partial indexes, the change log and triggers; twice is a no-op", async () => {
    const store = await openPgStore(settings(schema.url));
    await store.close();
    const again = await openPgStore(settings(schema.url));
    await again.close();
    const columns = (await sql(schema.url, "SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'backends' ORDER BY ordinal_position", [schema.name])).map((r) => r.column_name);
    assert.deepEqual(columns, ["id", "app", "region", "country", "wg_ip", "port", "healthy", "weight", "soft_limit", "hard_limit", "deleted", "created_at", "updated_at",
      "version", "origin", "hlc", "last_heartbeat_ms", "source"]);
    const indexes = (await sql(schema.url, "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = 'backends' ORDER BY indexname", [schema.name]));
    const partial = indexes.filter((i) => /WHERE \(deleted = 0\)/.test(String(i.indexdef))).map((i) => i.indexname);
    assert.deepEqual(partial, ["idx_backends_healthy", "idx_backends_region"]);
    const ledger = await sql(schema.url, "SELECT version FROM schema_migrations ORDER BY version");
    assert.deepEqual(ledger.map((r) => r.version), [1, PG_LATEST_SCHEMA_VERSION]);
  });

  test("several POPs initialising one new schema at once all succeed, and it is made once", async () => {
    const fresh = await createTestSchema();
    try {
      const stores = await Promise.all(Array.from({ length: 4 }, () => openPgStore(settings(fresh.url))));
      await Promise.all(stores.map((s) => s.close()));
      assert.deepEqual((await sql(fresh.url, "SELECT count(*)::int AS n FROM schema_migrations"))[0]!.n, PG_LATEST_SCHEMA_VERSION);
    } finally {
      await fresh.drop();
    }
  });

  test("an original edgeProxy PostgreSQL table is migrated in place: rows kept, versions given, null country allowed", async () => {
    const old = await createTestSchema();
    try {
      await sql(old.url, ORIGINAL_PG_BACKENDS);
      await sql(old.url, "INSERT INTO backends (id, app, region, country, wg_ip, port) VALUES ('old-1', 'game', 'eu', 'DE', '10.1.0.1', 7000)");
      const store = await openPgStore(settings(old.url), { source: "cli" });
      try {
        const { snapshot } = await store.readSnapshot();
        assert.deepEqual(snapshot.backends.map((b) => [b.id, b.region, b.country, b.version, b.weight]), [["old-1", "eu", "DE", 1, 1]]);
        await store.upsertBackend({ id: "new-1", region: "sa", host: "10.1.0.2", port: 7001, country: null });
        assert.equal((await store.getBackend("new-1"))?.backend?.country, null);
      } finally {
        await store.close();
      }
    } finally {
      await old.drop();
    }
  });

  test("a search_path naming no existing schema is refused, saying to create it", async () => {
    const url = schema.url.replace(encodeURIComponent(schema.name), `${schema.name}_missing`);
    assert.notEqual(url, schema.url);
    await assert.rejects(openPgStore(settings(url)), (err: unknown) => err instanceof StoreError && new RegExp(`search_path "${schema.name}_missing" names no existing schema \\(create it first: CREATE SCHEMA`).test(err.message));
  });

  test("a table that is not a routing store is refused, naming the missing columns", async () => {
    const other = await createTestSchema();
    try {
      await sql(other.url, "CREATE TABLE backends (id TEXT PRIMARY KEY, name TEXT)");
      await assert.rejects(openPgStore(settings(other.url)), (err: unknown) => err instanceof StoreError && /lacks column\(s\) app, region/.test(err.message));
    } finally {
      await other.drop();
    }
  });

  test("a hand edit (any connection, any search_path) bumps the version, moves the marker and notifies; a heartbeat does neither", async () => {
    const store = await openPgStore(settings(schema.url));
    await store.upsertBackend({ id: "h-1", region: "sa", host: "10.0.0.9", port: 7000 }); // before anyone listens
    const notified: number[] = [];
    let listening!: () => void;
    const ready = new Promise<void>((r) => { listening = r; });
    const feed = startChangeFeed({ settings: settings(schema.url), schema: store.schema, onChange: () => notified.push(Date.now()), onState: (up) => up && listening() });
    // A listener of our own: PostgreSQL delivers notifications in commit order, so once it hears a
    // NOTIFY sent after a change, every notification of that change has been heard before it.
    const listener = await rawClient(schema.url);
    const heard: string[] = [];
    (listener as unknown as { on(event: "notification", fn: (n: { payload?: string }) => void): void })
      .on("notification", (n) => heard.push(n.payload ?? ""));
    await listener.query("LISTEN edgeproxy_routes");
    let witnesses = 0;
    /** What the listener heard for our schema between now and a witness NOTIFY sent after `change`. */
    const notificationsOf = async (change: () => Promise<unknown>) => {
      const from = heard.length;
      await change();
      const witness = `witness-${++witnesses}`;
      await sql(schema.url, `NOTIFY edgeproxy_routes, '${witness}'`);
      await until(`the listener hears ${witness}`, () => heard.includes(witness));
      return heard.slice(from, heard.indexOf(witness)).filter((p) => p === store.schema).length;
    };
    try {
      await ready;
      notified.length = 0; // the feed's own "changed while not listening" call
      const marker = await store.changeMarker();
      // psql with the default search_path, naming the schema: the triggers still find their tables.
      const base = new URL(schema.url);
      base.searchParams.delete("options");
      assert.equal(await notificationsOf(() => sql(base.toString(), `UPDATE ${schema.name}.backends SET weight = 7 WHERE id = 'h-1'`)), 1, "one notification for one committed change");
      await until("the change feed reports it", () => notified.length >= 1);
      assert.notEqual(await store.changeMarker(), marker);
      assert.equal((await store.getBackend("h-1"))?.version, 2);
      const after = await store.changeMarker();
      notified.length = 0;
      assert.equal(await notificationsOf(() => sql(schema.url, "UPDATE backends SET last_heartbeat_ms = 12345 WHERE id = 'h-1'")), 0, "a heartbeat is not a routing change");
      assert.equal(await store.changeMarker(), after);
      assert.equal(notified.length, 0);
    } finally {
      await listener.end().catch(() => undefined);
      await feed.close();
      await store.close();
    }
  });

  test("the password in the URL never appears in an error", async () => {
    const secret = "s3cr3t-Passw0rd";
    const url = `postgres://nobody:${secret}@127.0.0.1:1/test`;
    await assert.rejects(openPgStore({ ...settings(url), connectTimeoutMs: 1000 }), (err: unknown) => {
      assert.ok(err instanceof StoreError);
      assert.doesNotMatch(err.message, new RegExp(secret));
      assert.match(err.message, /postgres:\/\/nobody@127\.0\.0\.1:1\/test/);
      return true;
    });
  });

  test("a query slower than the query timeout fails instead of hanging", async () => {
    const store: PgStore = await openPgStore({ ...settings(schema.url), queryTimeoutMs: 1000 });
    const locker = await sql(schema.url, "SELECT 1"); // warm
    assert.ok(locker);
    const { rawClient } = await import("../fixtures/postgres.ts");
    const holder = await rawClient(schema.url);
    try {
      // Holds an exclusive lock, so the store's read waits until the timeout.
      await holder.query("BEGIN");
      await holder.query("LOCK TABLE store_meta IN ACCESS EXCLUSIVE MODE");
      // The rejection is the point: without the query timeout the read would wait for the lock forever.
      await assert.rejects(store.changeMarker(), (err: unknown) => err instanceof StoreError && /statement timeout|timeout/i.test(err.message));
    } finally {
      await holder.query("ROLLBACK").catch(() => undefined);
      await holder.end();
      await store.close();
    }
  });
  test("the pool opens MIN_CONNECTIONS at start and never more than MAX_CONNECTIONS, however many reads wait", async () => {
    const app = `edgeproxy_pool_${process.pid}_${Date.now().toString(36)}`;
    // The URL's application_name wins over the driver setting: these connections can be counted.
    const url = `${schema.url}&application_name=${app}`;
    const connections = async () => Number((await sql(TEST_POSTGRES_URL, "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1", [app]))[0]!.n);
    const store = await openPgStore({ ...settings(url), maxConnections: 3, minConnections: 2 });
    const holder = await rawClient(schema.url);
    try {
      assert.equal(await connections(), 2, "MIN_CONNECTIONS opened at start");
      await holder.query("BEGIN");
      await holder.query("LOCK TABLE store_meta IN ACCESS EXCLUSIVE MODE");
      const reads = Array.from({ length: 12 }, () => store.changeMarker());
      for (let i = 0; i < 100 && (await connections()) < 3; i++) await sleep(20);
      await sleep(200);
      assert.equal(await connections(), 3, "12 waiting reads use at most MAX_CONNECTIONS");
      await holder.query("ROLLBACK");
      const markers = await Promise.all(reads);
      assert.equal(new Set(markers).size, 1, "every queued read ran once the lock was gone");
      assert.ok((await connections()) <= 3);
    } finally {
      await holder.query("ROLLBACK").catch(() => undefined);
      await holder.end();
      await store.close();
    }
    assert.equal(await connections(), 0, "close() ends every pooled connection");
  });

  test("a server that accepts but never answers: opening fails after the connect timeout, without the password", { timeout: 20_000 }, async () => {
    const held: net.Socket[] = [];
    const silent = net.createServer((s) => { s.on("error", () => undefined); held.push(s); });
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const url = `postgres://nobody:silent-Secret-99@127.0.0.1:${port}/test`;
      await assert.rejects(openPgStore({ ...settings(url), connectTimeoutMs: 300 }), (err: unknown) => {
        assert.ok(err instanceof StoreError);
        assert.match(err.message, /timeout/i);
        assert.doesNotMatch(err.message, /silent-Secret-99/);
        return true;
      });
    } finally {
      for (const s of held) s.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });

  test("a link that stops delivering mid-query: the client-side query timeout fails the read, and the store recovers", { timeout: 20_000 }, async () => {
    const base = new URL(TEST_POSTGRES_URL);
    const link = await startFrozenLink(base.hostname, Number(base.port || 5432));
    const store = await openPgStore({ ...settings(link.via(schema.url)), queryTimeoutMs: 500, minConnections: 1 });
    try {
      const marker = await store.changeMarker();
      link.freeze(); // the server's own statement_timeout cannot help: its answer never arrives
      await assert.rejects(store.changeMarker(), (err: unknown) => err instanceof StoreError && /timeout/i.test(err.message));
      link.thaw();
      assert.equal(await store.changeMarker(), marker);
      // Frozen again: close() must still return (a graceful end waits for the server to close each socket).
      await store.changeMarker();
      link.freeze();
      await store.close();
    } finally {
      link.thaw();
      await store.close();
      await link.close();
    }
  });

  test("the change feed's close() returns on a frozen link", { timeout: 20_000 }, async () => {
    const base = new URL(TEST_POSTGRES_URL);
    const link = await startFrozenLink(base.hostname, Number(base.port || 5432));
    const store = await openPgStore(settings(schema.url));
    let listening!: () => void;
    const ready = new Promise<void>((r) => { listening = r; });
    const feed = startChangeFeed({ settings: { ...settings(link.via(schema.url)), connectTimeoutMs: 500 }, schema: store.schema, onChange: () => undefined, onState: (up) => up && listening() });
    try {
      await ready;
      link.freeze();
      await feed.close();
    } finally {
      link.thaw();
      await store.close();
      await link.close();
    }
  });

  test("MIN_CONNECTIONS the server refuses: opening fails with the server's reason instead of hanging", { timeout: 20_000 }, async () => {
    const role = `edgeproxy_lim_${process.pid}_${Date.now().toString(36)}`;
    const own = await createTestSchema();
    await sql(TEST_POSTGRES_URL, `CREATE ROLE ${role} LOGIN CONNECTION LIMIT 2; GRANT ALL ON SCHEMA ${own.name} TO ${role}`);
    try {
      const u = new URL(own.url);
      u.username = role;
      u.password = "";
      // The migration's connection comes back to the pool; warming 3 needs a third, which the role may not open.
      await assert.rejects(openPgStore({ ...settings(u.toString()), maxConnections: 4, minConnections: 3 }),
        (err: unknown) => err instanceof StoreError && /too many connections/.test(err.message));
      assert.equal((await sql(TEST_POSTGRES_URL, "SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1", [role]))[0]!.n, 0, "every connection closed");
    } finally {
      await own.drop();
      await sql(TEST_POSTGRES_URL, `DROP OWNED BY ${role} CASCADE; DROP ROLE ${role}`).catch(() => undefined);
    }
  });
});

// The PostgreSQL routing store end to end, through real proxy processes and real sockets:
// - two proxies on one database see a psql edit, a CLI change and an API registration within one second
//   (LISTEN/NOTIFY; the periodic reload is set to an hour so it cannot be what delivered them), and
//   reload nothing when nothing routing-relevant changed;
// - PostgreSQL stopped mid-traffic: routing continues on the last good snapshot, one log line per state
//   change, and syncing resumes by itself when the server is back;
// - a proxy restarted while PostgreSQL is down routes from its saved snapshot file.
// Outage tests run their own private server (initdb in a temp dir), never stopping the shared one.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { startBackend, whoAnswers, type TestBackend } from "../fixtures/backends.ts";
import { tempDir } from "../fixtures/routing-db.ts";
import { startProxy, runToExit, type ProxyProcess } from "../fixtures/proxy-process.ts";
import { runCli } from "../cli/run-cli.ts";
import { sample } from "../fixtures/promtool.ts";
import { startFrozenLink, type FrozenLink } from "../fixtures/frozen-link.ts";
import { createPrivateServer, createTestSchema, TEST_POSTGRES_URL, psqlSkipReason, postgresSkipReason, privateServerSkipReason, psql, sql, type PrivateServer, type TestSchema } from "../fixtures/postgres.ts";

const skip = (await postgresSkipReason()) ?? false;
const skipPsql = skip || (psqlSkipReason() ?? false);
const skipPrivate = skip || (privateServerSkipReason() ?? false);
const TOKEN = "pg-e2e-token-0123456789abcdef";
const PASSWORD = "pw-never-logged-7f3a";
/** The URL with a password, when it has none (the local server trusts, so it is not checked). */
const withPassword = (url: string) => {
  const u = new URL(url);
  if (u.password === "") u.password = PASSWORD;
  return u.toString();
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let nextSource = 0;
const freshSource = () => { nextSource++; return `127.2.${(nextSource >> 8) & 255}.${(nextSource & 255) || 1}`; };
const who = (proxy: ProxyProcess) => whoAnswers(proxy.port, freshSource());

/** Polls `probe` until it returns `want`; resolves with the time it took, rejects after `timeoutMs`.
 *  Deadlines are generous: with a reload interval of an hour only NOTIFY can deliver a change at all,
 *  so how soon it arrives is load, not correctness. */
async function until<T>(what: string, probe: () => Promise<T>, want: T, timeoutMs: number): Promise<number> {
  const started = Date.now();
  let last: T | undefined;
  while (Date.now() - started < timeoutMs) {
    last = await probe();
    if (last === want) return Date.now() - started;
    await sleep(25);
  }
  throw new Error(`${what}: still ${JSON.stringify(last)} after ${timeoutMs} ms (wanted ${JSON.stringify(want)})`);
}

/** The proxy's /metrics URL (metrics enabled on an ephemeral port). */
async function metricsUrl(p: ProxyProcess): Promise<string> {
  return `http://${String((await p.waitForLog("edgeProxy metrics listening")).addr)}/metrics`;
}
const storeUp = async (url: string) => sample(await (await fetch(url)).text(), "edgeproxy_routing_store_up");
const METRICS = { EDGEPROXY_METRICS_ENABLED: "true", EDGEPROXY_METRICS_LISTEN_ADDR: "127.0.0.1:0" };

const applied = (p: ProxyProcess) => p.logs.filter((l) => l.msg === "routes applied").length;
const count = (p: ProxyProcess, msg: string) => p.logs.filter((l) => String(l.msg ?? "").includes(msg)).length;

function pgEnv(url: string, dir: string, name: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    EDGEPROXY_POSTGRES_ENABLED: "true", EDGEPROXY_POSTGRES_URL: url, EDGEPROXY_REGION: "sa",
    EDGEPROXY_DB_PATH: join(dir, `${name}.db`), EDGEPROXY_POSTGRES_SNAPSHOT_PATH: join(dir, `${name}.snapshot.json`),
    EDGEPROXY_POSTGRES_MIN_CONNECTIONS: "1", EDGEPROXY_POSTGRES_MAX_CONNECTIONS: "3", ...extra,
  };
}

describe("two proxies on one PostgreSQL database", { skip: skipPsql }, () => {
  let schema: TestSchema;
  let dir: ReturnType<typeof tempDir>;
  let backends: TestBackend[];
  let p1: ProxyProcess;
  let p2: ProxyProcess;
  let api: string;

  before(async () => {
    schema = await createTestSchema();
    dir = tempDir("edgeproxy-pg-e2e-");
    backends = await Promise.all(["pg-a", "pg-b", "pg-c", "pg-d"].map((id) => startBackend(id)));
    // The CLI creates the schema and the first backend, as an operator would.
    const cli = await runCli(["db", "init"], pgEnv(schema.url, dir.dir, "cli"));
    assert.equal(cli.code, 0, cli.stderr);
    // The server URL as shown: user, host and database, no password or options (any EDGEPROXY_TEST_POSTGRES_URL).
    const base = new URL(TEST_POSTGRES_URL);
    assert.ok(cli.stdout.includes(`routing store ready: postgres://${base.username}@${base.host}${base.pathname} `), cli.stdout);
    const add = await runCli(["node", "add", "pg-a", "sa", "127.0.0.1", String(backends[0]!.port), "--country", "BR"], pgEnv(schema.url, dir.dir, "cli"));
    assert.equal(add.code, 0, add.stderr);
    const slow = { EDGEPROXY_POSTGRES_RELOAD_SECS: "3600" }; // only NOTIFY can deliver a change in time
    [p1, p2] = await Promise.all([
      startProxy(pgEnv(withPassword(schema.url), dir.dir, "p1", { ...slow, EDGEPROXY_API_ENABLED: "true", EDGEPROXY_API_LISTEN_ADDR: "127.0.0.1:0", EDGEPROXY_API_TOKEN: TOKEN })),
      startProxy(pgEnv(schema.url, dir.dir, "p2", slow)),
    ]);
    api = `http://${String((await p1.waitForLog("edgeProxy API listening")).addr)}`;
    await Promise.all([p1.waitForLog("postgres change feed listening"), p2.waitForLog("postgres change feed listening")]);
  });
  after(async () => {
    await Promise.all([p1?.stop(), p2?.stop()]);
    await Promise.all((backends ?? []).map((b) => b.close()));
    await schema?.drop();
    dir?.remove();
  });

  test("both route to the backend the CLI added", async () => {
    assert.equal(await who(p1), "pg-a");
    assert.equal(await who(p2), "pg-a");
  });

  test("a psql edit reaches both proxies (by NOTIFY: the reload interval is an hour)", async () => {
    psql(schema.url, `INSERT INTO backends (id, app, region, country, wg_ip, port) VALUES ('pg-b', 'e2e', 'sa', 'BR', '127.0.0.1', ${backends[1]!.port});
      UPDATE backends SET healthy = 0 WHERE id = 'pg-a';`);
    await Promise.all([until("p1 routes to pg-b", () => who(p1), "pg-b", 10_000), until("p2 routes to pg-b", () => who(p2), "pg-b", 10_000)]);
  });

  test("nothing routing-relevant changed (a heartbeat, an update of no row): no reload", async () => {
    const generation = async () => (await sql(schema.url, "SELECT value FROM store_meta WHERE key = 'generation'"))[0]!.value;
    const before = [applied(p1), applied(p2)];
    const marker = await generation();
    psql(schema.url, "UPDATE backends SET last_heartbeat_ms = 42 WHERE id = 'pg-b'; UPDATE backends SET weight = 3 WHERE id = 'no-such-id';");
    assert.equal(await generation(), marker, "the change marker (and with it NOTIFY, same trigger branch) did not move");
    // A routing change after them: each proxy applies it as its next reload, and only it.
    psql(schema.url, "UPDATE backends SET weight = 2 WHERE id = 'pg-b';");
    await Promise.all([
      until("p1 applied the weight change", async () => applied(p1) > before[0]!, true, 10_000),
      until("p2 applied the weight change", async () => applied(p2) > before[1]!, true, 10_000),
    ]);
    assert.deepEqual([applied(p1), applied(p2)], [before[0]! + 1, before[1]! + 1], "one reload: the routing change's");
  });

  test("a CLI change reaches both proxies", async () => {
    const before = [applied(p1), applied(p2)];
    const r = await runCli(["node", "disable", "pg-b"], pgEnv(schema.url, dir.dir, "cli"));
    assert.equal(r.code, 0, r.stderr);
    // pg-a and pg-b both unhealthy now: no backend, the client is closed.
    await Promise.all([until("p1 has no backend", () => who(p1), "", 10_000), until("p2 has no backend", () => who(p2), "", 10_000)]);
    assert.deepEqual([applied(p1), applied(p2)], [before[0]! + 1, before[1]! + 1], "one reload per change");
  });

  test("a registration through one POP's API reaches the other proxy", async () => {
    const res = await fetch(`${api}/api/v1/register`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ id: "pg-c", app: "e2e", region: "sa", ip: "127.0.0.1", port: backends[2]!.port }),
    });
    assert.equal(res.status, 201, await res.text());
    await until("p2 routes to pg-c", () => who(p2), "pg-c", 10_000);
    const rows = await sql(schema.url, "SELECT source, version::int AS version FROM backends WHERE id = 'pg-c'");
    assert.deepEqual(rows, [{ source: "api", version: 1 }]);
  });

  test("the URL's password appears in no log line", () => {
    const logs = JSON.stringify(p1.logs);
    assert.match(logs, /postgres change feed listening/);
    const secret = decodeURIComponent(new URL(withPassword(schema.url)).password);
    assert.ok(!logs.includes(secret));
  });

  test("db show through the CLI lists the PostgreSQL rows", async () => {
    const r = await runCli(["db", "show", "--json", "--all"], pgEnv(schema.url, dir.dir, "cli"));
    assert.equal(r.code, 0, r.stderr);
    const ids = (JSON.parse(r.stdout) as { id: string }[]).map((b) => b.id);
    assert.deepEqual(ids, ["pg-a", "pg-b", "pg-c"]);
  });

  test("CLI: --db is refused on PostgreSQL, and a bad EDGEPROXY_POSTGRES_* variable exits 2 naming it", async () => {
    const withDb = await runCli(["--db", join(dir.dir, "x.db"), "db", "show"], pgEnv(schema.url, dir.dir, "cli"));
    assert.equal(withDb.code, 2);
    assert.match(withDb.stderr, /--db: the routing store is PostgreSQL/);
    const noUrl = await runCli(["db", "show"], { EDGEPROXY_POSTGRES_ENABLED: "true" });
    assert.equal(noUrl.code, 2);
    assert.match(noUrl.stderr, /EDGEPROXY_POSTGRES_URL: required when EDGEPROXY_POSTGRES_ENABLED=true/);
  });
});

describe("PostgreSQL outage", { skip: skipPrivate }, () => {
  let server: PrivateServer;
  let dir: ReturnType<typeof tempDir>;
  let backends: TestBackend[];
  let proxy: ProxyProcess | null = null;
  const env = () => pgEnv(server.url, dir.dir, "pop", { EDGEPROXY_POSTGRES_RELOAD_SECS: "1", EDGEPROXY_POSTGRES_CONNECT_TIMEOUT_SECS: "2", EDGEPROXY_POSTGRES_QUERY_TIMEOUT_SECS: "2" });

  before(async () => {
    server = await createPrivateServer();
    dir = tempDir("edgeproxy-pg-outage-");
    backends = await Promise.all(["o-a", "o-b"].map((id) => startBackend(id)));
    const r = await runCli(["node", "add", "o-a", "sa", "127.0.0.1", String(backends[0]!.port)], env());
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => {
    await proxy?.stop();
    await Promise.all((backends ?? []).map((b) => b.close()));
    await server?.remove();
    dir?.remove();
  });

  test("stopped mid-traffic: routing continues, logged once; back: syncing resumes by itself", async () => {
    proxy = await startProxy(env());
    assert.equal(await who(proxy), "o-a");
    let stop = false;
    let routed = 0;
    const failures: string[] = [];
    const traffic = (async () => {
      while (!stop) {
        const answer = await who(proxy!).catch((e: Error) => e.message);
        if (answer === "o-a") routed++;
        else failures.push(answer);
        await sleep(20);
      }
    })();
    await server.stop();
    await proxy.waitForLog("routing store unreadable", 10_000);
    // Traffic goes on through the outage. (That failing reloads log once per state change, however
    // many, is tested on fake time in test/routes/route-sync.test.ts.)
    const routedBefore = routed;
    for (let i = 0; i < 500 && routed - routedBefore <= 10; i++) await sleep(20);
    const routedDuringOutage = routed - routedBefore;
    stop = true;
    await traffic;
    assert.deepEqual(failures, [], "every connection during the outage was routed");
    assert.ok(routedDuringOutage > 10);
    assert.equal(count(proxy, "routing store unreadable"), 1, "logged once per state change, not per attempt");

    await server.start();
    await sql(server.url, `INSERT INTO backends (id, app, region, wg_ip, port) VALUES ('o-b', 'e2e', 'sa', '127.0.0.1', ${backends[1]!.port}); UPDATE backends SET healthy = 0 WHERE id = 'o-a';`);
    await until("routes to o-b after recovery", () => who(proxy!), "o-b", 15_000);
    assert.equal(count(proxy, "routing store readable again"), 1);
  });

  test("restarted while PostgreSQL is down: routes from the saved snapshot, then catches up", async () => {
    assert.equal(await proxy!.stop(), 0, "a clean stop");
    proxy = null;
    await server.stop();
    proxy = await startProxy(env());
    await proxy.waitForLog("routing from the saved snapshot");
    assert.equal(await who(proxy), "o-b");
    await server.start();
    await proxy.waitForLog("routing store readable again", 15_000);
    await sql(server.url, "UPDATE backends SET healthy = 1 WHERE id = 'o-a'; UPDATE backends SET healthy = 0 WHERE id = 'o-b';");
    await until("routes to o-a after catching up", () => who(proxy!), "o-a", 15_000);
  });

  test("the store state metric: edgeproxy_routing_store_up is 1, 0 during the outage (still routing), 1 after recovery", async () => {
    await proxy?.stop();
    proxy = await startProxy({ ...env(), ...METRICS });
    const url = await metricsUrl(proxy);
    await until("store up at start", () => storeUp(url), 1, 5000);
    const routed = await who(proxy);
    assert.notEqual(routed, "");
    await server.stop();
    await until("store down during the outage", () => storeUp(url), 0, 10_000);
    assert.equal(await who(proxy), routed, "routing on the last good snapshot");
    await server.start();
    await until("store up after recovery", () => storeUp(url), 1, 15_000);
    assert.equal(count(proxy, "routing store unreadable"), 1);
    assert.equal(count(proxy, "routing store readable again"), 1);
  });

  test("down at start with no saved snapshot: the proxy refuses to start, naming the variable, no password shown", async () => {
    await server.stop();
    try {
      const other = tempDir("edgeproxy-pg-nosnap-");
      try {
        const url = server.url.replace("postgres@", "postgres:hunter2-secret@");
        const r = await runToExit(pgEnv(url, other.dir, "fresh", { EDGEPROXY_POSTGRES_CONNECT_TIMEOUT_SECS: "1" }));
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, /EDGEPROXY_POSTGRES_URL: PostgreSQL routing store postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres cannot be read and there is no saved snapshot/);
        assert.doesNotMatch(r.stderr, /hunter2/);
      } finally {
        other.remove();
      }
    } finally {
      await server.start();
    }
  });
});

describe("PostgreSQL slow (a link that stops delivering)", { skip }, () => {
  let schema: TestSchema;
  let link: FrozenLink;
  let dir: ReturnType<typeof tempDir>;
  let backend: TestBackend;
  let proxy: ProxyProcess;

  before(async () => {
    schema = await createTestSchema();
    const base = new URL(schema.url);
    link = await startFrozenLink(base.hostname, Number(base.port || 5432));
    dir = tempDir("edgeproxy-pg-slow-");
    backend = await startBackend("slow-a");
    const r = await runCli(["node", "add", "slow-a", "sa", "127.0.0.1", String(backend.port)], pgEnv(schema.url, dir.dir, "cli"));
    assert.equal(r.code, 0, r.stderr);
    proxy = await startProxy(pgEnv(link.via(schema.url), dir.dir, "pop", { ...METRICS, EDGEPROXY_POSTGRES_RELOAD_SECS: "1", EDGEPROXY_POSTGRES_QUERY_TIMEOUT_SECS: "1", EDGEPROXY_POSTGRES_CONNECT_TIMEOUT_SECS: "1" }));
  });
  after(async () => {
    link?.thaw();
    await proxy?.stop();
    await backend?.close();
    await link?.close();
    await schema?.drop();
    dir?.remove();
  });

  test("reads time out: routing continues, the metric says 0, logged once; the link back: 1 and changes arrive again", async () => {
    const url = await metricsUrl(proxy);
    assert.equal(await who(proxy), "slow-a");
    await until("store up", () => storeUp(url), 1, 5000);
    link.freeze();
    await until("store down while reads time out", () => storeUp(url), 0, 10_000);
    assert.equal(await who(proxy), "slow-a", "routing on the last good snapshot");
    // More reads time out: each one the proxy sends is held by the frozen link.
    const held = link.held;
    await until("two more reads held", async () => link.held >= held + 2, true, 10_000);
    assert.equal(count(proxy, "routing store unreadable"), 1, "logged once per state change");
    link.thaw();
    await until("store up again", () => storeUp(url), 1, 10_000);
    await sql(schema.url, "UPDATE backends SET healthy = 0 WHERE id = 'slow-a'");
    await until("the change after recovery is applied", () => who(proxy), "", 10_000);
    assert.equal(count(proxy, "routing store readable again"), 1);
  });

  test("SIGTERM while the link is frozen: the proxy still stops cleanly (closing never waits on a silent server)", async () => {
    const url = await metricsUrl(proxy);
    await until("store up", () => storeUp(url), 1, 5000);
    link.freeze();
    assert.equal(await proxy.stop(), 0, "exit 0 before the fixture's 10 s SIGKILL");
  });
});

describe("a PostgreSQL server that checks passwords", { skip: skipPrivate }, () => {
  const ROLE = { name: "edgeproxy_pw", password: "Right-Pw-3e9c" };
  let server: PrivateServer;
  let dir: ReturnType<typeof tempDir>;
  const url = (password: string) => `postgres://${ROLE.name}:${encodeURIComponent(password)}@127.0.0.1:${server.port}/postgres`;

  before(async () => {
    server = await createPrivateServer({ passwordRole: ROLE });
    dir = tempDir("edgeproxy-pg-auth-");
  });
  after(async () => {
    await server?.remove();
    dir?.remove();
  });

  test("a wrong password: the proxy and the CLI fail naming the cause, and never show the password", async () => {
    const wrong = "Wrong-Pw-b71d@x";
    const r = await runToExit(pgEnv(url(wrong), dir.dir, "bad", { EDGEPROXY_LOG_LEVEL: "debug" }));
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /password authentication failed for user \\?"edgeproxy_pw\\?"/);
    assert.match(r.stderr, /EDGEPROXY_POSTGRES_URL: PostgreSQL routing store postgres:\/\/edgeproxy_pw@127\.0\.0\.1:\d+\/postgres cannot be read/);
    const cli = await runCli(["db", "init"], pgEnv(url(wrong), dir.dir, "cli"));
    assert.equal(cli.code, 1, cli.stderr);
    assert.match(cli.stderr, /password authentication failed/);
    for (const out of [r.stderr, cli.stderr, cli.stdout]) {
      assert.ok(!out.includes(wrong) && !out.includes(encodeURIComponent(wrong)), out);
    }
  });

  test("the right password: the proxy starts, and no log line (debug included) holds it", async () => {
    const cli = await runCli(["db", "init"], pgEnv(url(ROLE.password), dir.dir, "cli"));
    assert.equal(cli.code, 0, cli.stderr);
    const proxy = await startProxy(pgEnv(url(ROLE.password), dir.dir, "good", { EDGEPROXY_LOG_LEVEL: "debug" }));
    try {
      await proxy.waitForLog("postgres change feed listening");
    } finally {
      assert.equal(await proxy.stop(), 0);
    }
    const logs = JSON.stringify(proxy.logs) + cli.stdout + cli.stderr;
    assert.ok(!logs.includes(ROLE.password));
  });
});

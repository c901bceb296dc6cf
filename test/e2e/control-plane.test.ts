// End to end through the real proxy process with the API enabled: registration → traffic; heartbeats
// keep it; silence past the TTL → deregistered, no new traffic; re-registration → traffic again.
// CLI-added backends never expire; the CLI works against the live routing.db and sees live counts.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { join } from "node:path";
import { startBackend, whoAnswers, holdConnection, type TestBackend } from "../fixtures/backends.ts";
import { createRoutingDb, tempDir, type RoutingDb } from "../fixtures/routing-db.ts";
import { startProxy, runToExit, type ProxyProcess } from "../fixtures/proxy-process.ts";
import { runCli } from "../cli/run-cli.ts";
import { openLibsqlStore } from "../../src/store/libsql-store.ts";
import { openSqlConnection } from "../../src/store/sql-connection.ts";

const TOKEN = "e2e-token-0123456789abcdef";
const TTL_SECS = 2;
const RELOAD_SECS = 1;
/** Deadline of a condition wait: generous, a loaded machine is not a failure. */
const SETTLE_MS = 15_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Every probe comes from a new loopback address, so client affinity never pins it to an old choice.
let nextSource = 0;
const freshSource = () => { nextSource++; return `127.1.${(nextSource >> 8) & 255}.${(nextSource & 255) || 1}`; };

/** Polls `probe` until it returns `want` or the deadline passes; resolves with the time it took.
 *  The deadlines are generous (load is not the proxy): how soon a change applies is logic, tested on
 *  fake time in test/composition/edge-proxy.test.ts and test/api/heartbeat-expiry.test.ts. */
async function until<T>(what: string, probe: () => Promise<T>, want: T, timeoutMs: number): Promise<number> {
  const started = Date.now();
  let last: T | undefined;
  while (Date.now() - started < timeoutMs) {
    last = await probe();
    if (last === want) return Date.now() - started;
    await sleep(50);
  }
  throw new Error(`${what}: still ${JSON.stringify(last)} after ${timeoutMs} ms (wanted ${JSON.stringify(want)})`);
}

describe("control plane end to end", () => {
  let backends: { api: TestBackend; cli: TestBackend };
  let db: RoutingDb;
  let proxy: ProxyProcess;
  let api: string;

  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${api}${path}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() as any };
  };
  const register = () => call("POST", "/api/v1/register", { id: "api-1", app: "e2e", region: "sa", ip: "127.0.0.1", port: backends.api.port });
  const cli = (...args: string[]) => runCli(["--db", db.path, ...args]);
  const who = () => whoAnswers(proxy.port, freshSource());
  /** A backend's heartbeat loop, as a registered service would run it. */
  let heartbeat: ReturnType<typeof setInterval> | null = null;
  const startBeating = () => { heartbeat ??= setInterval(() => void call("POST", "/api/v1/heartbeat/api-1").catch(() => {}), 400); };
  const stopBeating = () => { if (heartbeat) clearInterval(heartbeat); heartbeat = null; };
  /** Resolves once the proxy logged that the reaper deregistered `id`. */
  const deregistered = async (id: string) => {
    const logged = () => proxy.logs.some((l) => l.msg === "backend deregistered: no heartbeat" && l.id === id);
    for (const deadline = Date.now() + SETTLE_MS; !logged() && Date.now() < deadline;) await sleep(50);
    assert.ok(logged(), `${id} not deregistered within ${SETTLE_MS} ms`);
  };

  before(async () => {
    backends = { api: await startBackend("api-1"), cli: await startBackend("cli-1") };
    db = await createRoutingDb();
    proxy = await startProxy({
      EDGEPROXY_DB_PATH: db.path, EDGEPROXY_REGION: "sa", EDGEPROXY_DB_RELOAD_SECS: String(RELOAD_SECS),
      EDGEPROXY_API_ENABLED: "true", EDGEPROXY_API_LISTEN_ADDR: "127.0.0.1:0", EDGEPROXY_API_TOKEN: TOKEN,
      EDGEPROXY_HEARTBEAT_TTL_SECS: String(TTL_SECS),
    });
    const listening = await proxy.waitForLog("edgeProxy API listening");
    api = `http://${String(listening.addr)}`;
  });
  after(async () => {
    stopBeating();
    await proxy?.stop();
    db?.close();
    await Promise.all(Object.values(backends ?? {}).map((b) => b.close()));
  });

  test("/health answers with the package version and no routable backends yet", async () => {
    const res = await fetch(`${api}/health`);
    const body = await res.json() as { status: string; version: string; backends: number; uptime_secs: number };
    assert.equal(res.status, 200);
    assert.equal(body.status, "ok");
    assert.match(body.version, /^\d+\.\d+\.\d+/);
    assert.equal(body.backends, 0);
    assert.equal(await who(), "", "no backend: the client is closed");
  });

  test("a CLI-added backend (other region) routes while nothing nearer exists", async () => {
    const r = await cli("node", "add", "cli-1", "eu", "127.0.0.1", String(backends.cli.port));
    assert.equal(r.code, 0, r.stderr);
    await until("traffic to cli-1", () => who(), "cli-1", SETTLE_MS);
  });

  test("a registered backend receives traffic", async () => {
    const res = await register();
    assert.equal(res.status, 201, JSON.stringify(res.body));
    startBeating();
    // api-1 is in this POP's region (sa), so it wins over cli-1 (eu) as soon as the proxy has it.
    await until("traffic to api-1", () => who(), "api-1", SETTLE_MS);
    const health = await (await fetch(`${api}/health`)).json() as { backends: number };
    assert.equal(health.backends, 2);
  });

  test("db show run against the live routing.db shows the proxy's active connections", async () => {
    const held = await holdConnection(proxy.port, freshSource());
    try {
      assert.equal(held.id, "api-1");
      const active = async () => {
        const r = await cli("db", "show", "--json");
        assert.equal(r.code, 0, r.stderr);
        const rows = JSON.parse(r.stdout) as { id: string; live: { active: number } | null }[];
        return rows.find((b) => b.id === "api-1")?.live?.active ?? null;
      };
      await until("api-1 active in db show", active, 1, SETTLE_MS);
      const table = await cli("db", "show");
      assert.match(table.stdout, /^api-1 .* 1 /m);
    } finally {
      held.socket.destroy();
    }
  });

  test("heartbeats keep it registered past the TTL", async () => {
    // A silent backend registered now is deregistered by a sweep at least a TTL from now: that sweep
    // would have taken api-1 too (registered earlier) had its heartbeats not kept it.
    const silent = await call("POST", "/api/v1/register", { id: "silent-1", app: "e2e", region: "us", ip: "127.0.0.1", port: backends.cli.port });
    assert.equal(silent.status, 201, JSON.stringify(silent.body));
    await deregistered("silent-1");
    assert.equal(await who(), "api-1", "still routed past the TTL");
    assert.equal((await call("POST", "/api/v1/heartbeat/api-1")).status, 200);
  });

  test("silent past the TTL: deregistered, no new connections; the CLI backend stays", async () => {
    stopBeating();
    assert.equal((await call("POST", "/api/v1/heartbeat/api-1")).status, 200);
    await until("traffic moves off api-1", () => who(), "cli-1", SETTLE_MS);
    await deregistered("api-1");
    const gone = await call("GET", "/api/v1/backends/api-1");
    assert.equal(gone.status, 404);
    const beat = await call("POST", "/api/v1/heartbeat/api-1");
    assert.equal(beat.status, 404, "it must register again");
    const all = await cli("db", "show", "--all", "--json");
    const rows = JSON.parse(all.stdout) as { id: string; deleted: boolean }[];
    assert.equal(rows.find((b) => b.id === "api-1")?.deleted, true, "soft-deleted, not removed");
    assert.equal(rows.find((b) => b.id === "cli-1")?.deleted, false, "a CLI backend never expires");
  });

  test("re-registering brings traffic back", async () => {
    assert.equal((await register()).status, 200);
    startBeating();
    await until("traffic back on api-1", () => who(), "api-1", SETTLE_MS);
  });

  test("deregistering over the API stops new connections", async () => {
    stopBeating();
    assert.equal((await call("DELETE", "/api/v1/backends/api-1")).status, 200);
    await until("traffic moves off api-1", () => who(), "cli-1", SETTLE_MS);
  });

  test("a write lock held outside the proxy stalls neither its data path nor its API", async () => {
    // As an operator's `sqlite3 routing.db` with an open transaction would: the registration must wait
    // on timers (the driver is synchronous), while clients keep being routed.
    const holder = openSqlConnection(db.path);
    holder.exec("BEGIN IMMEDIATE");
    let locked = true;
    try {
      const pending = call("POST", "/api/v1/register", { id: "locked-1", app: "e2e", region: "us", ip: "127.0.0.1", port: backends.cli.port });
      let slowest = 0;
      for (let i = 0; i < 8; i++) {
        const started = Date.now();
        assert.equal(await who(), "cli-1");
        const health = await fetch(`${api}/health`);
        assert.equal(health.status, 200);
        await health.body?.cancel();
        slowest = Math.max(slowest, Date.now() - started);
        await sleep(50);
      }
      holder.exec("COMMIT");
      locked = false;
      const res = await pending;
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.ok(slowest < 1000, `a client waited ${slowest} ms while routing.db was locked`);
    } finally {
      if (locked) holder.exec("ROLLBACK");
      holder.close();
    }
    db.exec("DELETE FROM backends WHERE id = ?", "locked-1");
  });

  test("CLI and API writing concurrently against the live proxy: nothing fails, nothing is lost", async () => {
    // Every bulk row points at the cli-1 echo backend, so whichever the proxy picks answers "cli-1".
    const logsBefore = proxy.logs.length;
    const port = backends.cli.port;
    const clis = Array.from({ length: 8 }, (_, i) => cli("node", "add", `bulk-cli-${i}`, "us", "127.0.0.1", String(port)));
    const apis = Array.from({ length: 40 }, (_, i) =>
      call("POST", "/api/v1/register", { id: `bulk-api-${i}`, app: "e2e", region: "us", ip: "127.0.0.1", port }));
    const weights = Array.from({ length: 4 }, () => cli("node", "weight", "cli-1", "3"));
    for (const r of await Promise.all([...clis, ...weights])) {
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /locked|busy/i);
    }
    for (const r of await Promise.all(apis)) assert.equal(r.status, 201, JSON.stringify(r.body));
    // (Including soft-deleted rows: the registrations may already have expired, heartbeat TTL is short here.)
    const store = openLibsqlStore(db.path);
    try {
      assert.equal((await store.listBackends({ includeDeleted: true })).filter((b) => b.id.startsWith("bulk-")).length, 48);
      assert.equal((await store.getBackend("cli-1"))?.backend?.weight, 3);
    } finally {
      await store.close();
    }
    assert.equal(await who(), "cli-1", "the proxy kept routing throughout");
    // (A skipped live-state publish is by design: it never waits for the lock, and retries next interval.)
    const lockErrors = proxy.logs.slice(logsBefore).filter((l) => /locked|SQLITE_BUSY/i.test(JSON.stringify(l)) && !String(l.msg).startsWith("live state not published"));
    assert.deepEqual(lockErrors, [], "no lock errors in the proxy either");
    for (const id of [...Array.from({ length: 8 }, (_, i) => `bulk-cli-${i}`), ...Array.from({ length: 40 }, (_, i) => `bulk-api-${i}`)]) {
      db.exec("DELETE FROM backends WHERE id = ?", id);
    }
  });
});

describe("API startup refusals", () => {
  test("a token-less API on a non-loopback address does not start, and says both ways out", async () => {
    const tmp = tempDir();
    try {
      const { code, stderr } = await runToExit({ EDGEPROXY_DB_PATH: join(tmp.dir, "r.db"), EDGEPROXY_API_ENABLED: "true", EDGEPROXY_API_LISTEN_ADDR: "0.0.0.0:0" });
      assert.equal(code, 2, stderr);
      assert.match(stderr, /EDGEPROXY_API_LISTEN_ADDR: .*not a loopback address/);
      assert.match(stderr, /EDGEPROXY_API_TOKEN/);
      assert.match(stderr, /EDGEPROXY_API_INSECURE=true/);
    } finally {
      tmp.remove();
    }
  });

  test("an API port already in use stops startup naming EDGEPROXY_API_LISTEN_ADDR", async () => {
    const tmp = tempDir();
    const busy = net.createServer();
    await new Promise<void>((r) => busy.listen(0, "127.0.0.1", () => r()));
    try {
      const port = (busy.address() as net.AddressInfo).port;
      const { code, stderr } = await runToExit({ EDGEPROXY_DB_PATH: join(tmp.dir, "r.db"), EDGEPROXY_API_ENABLED: "true", EDGEPROXY_API_LISTEN_ADDR: `127.0.0.1:${port}` });
      assert.equal(code, 1, stderr);
      assert.match(stderr, /EDGEPROXY_API_LISTEN_ADDR: cannot listen on 127\.0\.0\.1:\d+/);
    } finally {
      busy.close();
      tmp.remove();
    }
  });
});

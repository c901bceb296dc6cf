// The composition in-process: startEdgeProxy with a fake transport (no sockets for the proxied
// traffic), a fake clock (periodic jobs run when the test advances time) and files served from memory;
// the routing store is a real libSQL file, the API and metrics listeners real loopback servers.
import { test, describe, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { join } from "node:path";
import { loadConfig } from "../../src/config.ts";
import { startEdgeProxy, type EdgeProxy } from "../../src/edge-proxy.ts";
import { trafficOf } from "../../src/data-plane.ts";
import { SettingError } from "../../src/core/setting-error.ts";
import type { Logger } from "../../src/lifecycle/log.ts";
import { routableCount } from "../../src/routes/route-counts.ts";
import { FakeClock, settle } from "../fixtures/fake-clock.ts";
import { FakeTransport } from "../fixtures/fake-transport.ts";
import { createRoutingDb, type RoutingDb } from "../fixtures/routing-db.ts";
import { runCli } from "../cli/run-cli.ts";

interface Line { readonly level: string; readonly msg: string; readonly [k: string]: unknown }

function recordingLogger(lines: Line[]): Logger {
  const at = (level: string) => (msg: string, fields: Record<string, unknown> = {}) => { lines.push({ ...fields, level, msg }); };
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

const CERT = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
const KEY = "-----BEGIN PRIVATE KEY-----\nBBBB\n-----END PRIVATE KEY-----\n";

/** Every component, in start order, of a proxy with every optional part enabled. */
const ALL = ["config-file", "geo", "tls-certificate", "routes", "health-check", "circuit-advance", "affinity-gc", "api", "metrics", "live-state", "backend-pool", "connections", "listener", "tls-listener"];

/** A port a real server holds (for listen failures of the API and metrics). */
async function takenPort(): Promise<{ port: number; close(): Promise<void> }> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return { port: (server.address() as net.AddressInfo).port, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe("startEdgeProxy", () => {
  let db: RoutingDb;
  let files: Map<string, string>;
  let transport: FakeTransport;
  let clock: FakeClock;
  let lines: Line[];
  let proxy: EdgeProxy | null;
  let held: { close(): Promise<void> }[];

  beforeEach(async () => {
    db = await createRoutingDb([{ id: "a", region: "sa", port: 7001 }, { id: "b", region: "sa", port: 7002 }]);
    files = new Map([["/etc/edgeproxy.toml", ""], ["/tls/cert.pem", CERT], ["/tls/key.pem", KEY]]);
    transport = new FakeTransport();
    // Near the wall clock: `db show` (another process) judges the live state's stamp by it.
    clock = new FakeClock(Date.now());
    lines = [];
    proxy = null;
    held = [];
  });
  /** close(), with fake time moving meanwhile (the drain waits on the clock). */
  const close = async (p: EdgeProxy) => {
    let done = false;
    const closing = p.close().finally(() => { done = true; });
    while (!done) await clock.advance(50);
    await closing;
    proxy = null;
  };
  afterEach(async () => {
    if (proxy) await close(proxy);
    for (const h of held) await h.close();
    db.close();
  });

  const env = (extra: Record<string, string> = {}) => ({
    EDGEPROXY_DB_PATH: db.path, EDGEPROXY_LISTEN_ADDR: "127.0.0.1:0", EDGEPROXY_REGION: "sa", EDGEPROXY_DB_RELOAD_SECS: "1",
    EDGEPROXY_CONFIG_FILE: "/etc/edgeproxy.toml", EDGEPROXY_CONFIG_WATCH_ENABLED: "true", EDGEPROXY_CONFIG_WATCH_INTERVAL_SECS: "2",
    EDGEPROXY_TLS_ENABLED: "true", EDGEPROXY_TLS_CERT: "/tls/cert.pem", EDGEPROXY_TLS_KEY: "/tls/key.pem", EDGEPROXY_TLS_LISTEN_ADDR: "127.0.0.1:0",
    EDGEPROXY_API_ENABLED: "true", EDGEPROXY_API_LISTEN_ADDR: "127.0.0.1:0",
    EDGEPROXY_METRICS_ENABLED: "true", EDGEPROXY_METRICS_LISTEN_ADDR: "127.0.0.1:0",
    EDGEPROXY_SHUTDOWN_TIMEOUT_SECS: "5",
    ...extra,
  });
  const start = async (extra: Record<string, string> = {}, dataPlanes = 1) => {
    proxy = await startEdgeProxy(loadConfig(env(extra)), {
      transport, clock, log: recordingLogger(lines),
      readFile: async (path) => {
        const text = files.get(path);
        if (text === undefined) throw new Error(`ENOENT: no such file, open '${path}'`);
        return new TextEncoder().encode(text);
      },
      fileIdentity: () => null,
    }, dataPlanes);
    return proxy;
  };
  const said = (msg: string) => lines.filter((l) => l.msg === msg);
  const names = (msg: string) => said(msg).map((l) => String(l.component));

  test("starts every component in list order; close() stops them in reverse, listeners first, then the drain", async () => {
    const p = await start();
    assert.deepEqual(p.components, ALL);
    assert.deepEqual(names("component started"), ALL);
    assert.deepEqual(transport.events, ["tcp listen", "tls listen"]);
    assert.ok(said("edgeProxy listening").length === 1 && said("TLS listening").length === 1);

    await close(p);
    assert.deepEqual(names("component stopped"), [...ALL].reverse());
    assert.deepEqual(transport.events, ["tcp listen", "tls listen", "tls close", "tcp close"]);
    assert.equal(p.control.observability.status(), "draining");
    assert.equal(p.scheduler.size, 0, "every periodic task cancelled");
    assert.equal(clock.pending, 0, "no timer left behind");
  });

  const portHeld = async () => {
    const t = await takenPort();
    held.push(t);
    return `127.0.0.1:${t.port}`;
  };
  const failures: { readonly component: string; readonly variable: string; readonly setup: () => Promise<Record<string, string> | void> }[] = [
    { component: "config-file", variable: "EDGEPROXY_CONFIG_FILE", setup: async () => { files.delete("/etc/edgeproxy.toml"); } },
    { component: "geo", variable: "EDGEPROXY_GEOIP_PATH", setup: async () => ({ EDGEPROXY_GEOIP_PATH: "/geo/missing.mmdb" }) },
    { component: "tls-certificate", variable: "EDGEPROXY_TLS_CERT", setup: async () => { files.set("/tls/cert.pem", "not a certificate"); } },
    { component: "routes", variable: "EDGEPROXY_DB_PATH", setup: async () => ({ EDGEPROXY_DB_PATH: join(db.dir, "no-such-dir", "routing.db") }) },
    { component: "api", variable: "EDGEPROXY_API_LISTEN_ADDR", setup: async () => ({ EDGEPROXY_API_LISTEN_ADDR: await portHeld() }) },
    { component: "metrics", variable: "EDGEPROXY_METRICS_LISTEN_ADDR", setup: async () => ({ EDGEPROXY_METRICS_LISTEN_ADDR: await portHeld() }) },
    { component: "listener", variable: "EDGEPROXY_LISTEN_ADDR", setup: async () => { transport.failListen = Object.assign(new Error("listen EADDRINUSE"), { code: "EADDRINUSE" }); } },
    { component: "tls-listener", variable: "EDGEPROXY_TLS_LISTEN_ADDR", setup: async () => { transport.failListenTls = Object.assign(new Error("listen EADDRINUSE"), { code: "EADDRINUSE" }); } },
  ];
  for (const { component, variable, setup } of failures) {
    test(`a failing ${component} stops the components started before it, in reverse order, naming ${variable}`, async () => {
      const extra = (await setup()) ?? {};
      await assert.rejects(start(extra), (err: unknown) => err instanceof SettingError && err.variable === variable && err.message.startsWith(`${variable}: `));
      const before = ALL.slice(0, ALL.indexOf(component));
      assert.deepEqual(names("component started"), before);
      assert.deepEqual(names("component stopped"), [...before].reverse());
      assert.equal(clock.pending, 0, "no timer left behind");
      if (before.includes("listener")) assert.deepEqual(transport.events, ["tcp listen", "tcp close"]);
    });
  }

  test("periodic jobs run on the scheduler's clock: routes, config file and TLS files reload at their interval, not before", async () => {
    const p = await start();
    const { table } = p.control.shared;
    assert.equal(table.size, 2);
    db.insert({ id: "c", region: "sa", port: 7003 });
    files.set("/etc/edgeproxy.toml", "[rate_limit]\nburst = 7\n");
    files.set("/tls/cert.pem", CERT.replace("AAAA", "CCCC"));
    await clock.advance(999);
    assert.equal(table.size, 2, "the route reload is due at 1 s");
    await clock.advance(1);
    assert.equal(table.size, 3);
    assert.equal(p.control.shared.settings.current().rateLimit.burst, 10, "the config file poll is due at 2 s");
    assert.equal(transport.credentials.length, 1);
    await clock.advance(1000);
    assert.equal(p.control.shared.settings.current().rateLimit.burst, 7);
    assert.equal(said("config reloaded").length, 1);
    assert.deepEqual(transport.credentials.map((c) => c.cert.includes("CCCC")), [false, true], "the new certificate reached the TLS listener");
  });

  test("health_check.enabled in the config file applies without a restart, both ways", async () => {
    const p = await start({ EDGEPROXY_HEALTH_HEALTHY_THRESHOLD: "1", EDGEPROXY_HEALTH_UNHEALTHY_THRESHOLD: "1", EDGEPROXY_HEALTH_CHECK_INTERVAL_SECS: "1" });
    const { table, engine } = p.control.shared;
    transport.refused.add(7002);
    await clock.advance(5000);
    assert.equal(transport.connects, 0, "checks are off");
    assert.equal(routableCount(table, engine), 2);

    files.set("/etc/edgeproxy.toml", "[health_check]\nenabled = true\n");
    await clock.advance(2000); // the config poll applies it; the checker follows at its next tick
    await clock.advance(1000);
    assert.ok(transport.connects >= 2, `probes went out (${transport.connects})`);
    assert.equal(p.control.health.probeState("a"), "up");
    assert.equal(p.control.health.probeState("b"), "down");
    assert.equal(routableCount(table, engine), 1);

    files.set("/etc/edgeproxy.toml", "[health_check]\nenabled = false\n");
    await clock.advance(2000);
    await clock.advance(1000);
    assert.equal(p.control.health.probeState("b"), null, "verdicts dropped");
    assert.equal(routableCount(table, engine), 2, "b is routable again");
    const connects = transport.connects;
    await clock.advance(5000);
    assert.equal(transport.connects, connects, "no probes while off");
  });

  test("a client sticks to its backend while it comes back within the binding TTL (sliding from its last use), and is chosen afresh after it", async () => {
    await start({ EDGEPROXY_TLS_ENABLED: "false", EDGEPROXY_BINDING_TTL_SECS: "2", EDGEPROXY_IDLE_TIMEOUT_SECS: "1" });
    const backendAt: Record<number, string> = { 7001: "a", 7002: "b" };
    const clients = Array.from({ length: 40 }, (_, i) => `10.0.50.${i + 1}`);
    /** Each client connects once, alone, and leaves: which backend each one reached. */
    const round = async () => {
      const reached: string[] = [];
      for (const ip of clients) {
        const before = transport.connected.length;
        const client = transport.client(ip);
        await settle(1);
        assert.equal(transport.connected.length, before + 1, `${ip} reached no backend`);
        reached.push(backendAt[transport.connected.at(-1)!]!);
        client.close();
        await settle(1);
      }
      return reached;
    };
    const first = await round();
    assert.ok(first.includes("a") && first.includes("b"), `equal weights spread the clients: ${first.join(",")}`);
    await clock.advance(1999);
    assert.deepEqual(await round(), first, "1 ms before the TTL every binding holds");
    await clock.advance(1999);
    assert.deepEqual(await round(), first, "the TTL counts from the last use: 4 s after the first, bindings still hold");
    await clock.advance(2000);
    const later = await round();
    assert.ok(later.some((id, i) => id !== first[i]), "expired bindings are not reused (40 clients, 50/50 each: all staying has p = 2^-40)");
    assert.equal(transport.spliceOptions.length, 160);
    assert.ok(transport.spliceOptions.every((o) => o.idleTimeoutMs === 1000), "EDGEPROXY_IDLE_TIMEOUT_SECS reaches every splice");
  });

  test("the heartbeat reaper runs on the scheduler: a heartbeat keeps a registered backend, the TTL since the last one removes it, not before", async () => {
    const p = await start({ EDGEPROXY_TLS_ENABLED: "false", EDGEPROXY_HEARTBEAT_TTL_SECS: "2" }); // swept every 500 ms
    const { host, port } = p.control.api!.address!;
    const api = (path: string, body?: unknown) => fetch(`http://${host}:${port}${path}`, { method: "POST", body: body === undefined ? undefined : JSON.stringify(body) });
    const { table } = p.control.shared;
    const registered = await api("/api/v1/register", { id: "api-1", app: "e2e", region: "sa", ip: "127.0.0.1", port: 7003 });
    assert.equal(registered.status, 201, await registered.text());
    await clock.advance(0);
    assert.notEqual(table.slotOf("api-1"), undefined, "routed at once");

    await clock.advance(1500);
    assert.equal((await api("/api/v1/heartbeat/api-1")).status, 200);
    await clock.advance(2000); // the TTL since the heartbeat, not a millisecond more
    assert.notEqual(table.slotOf("api-1"), undefined, "the heartbeat kept it past the TTL since it registered");
    assert.equal(said("backend deregistered: no heartbeat").length, 0);

    await clock.advance(600); // one sweep interval later
    assert.equal(table.slotOf("api-1"), undefined, "deregistered: no heartbeat for the TTL");
    assert.deepEqual(said("backend deregistered: no heartbeat").map((l) => l.id), ["api-1"]);
    assert.equal((await api("/api/v1/heartbeat/api-1")).status, 404);
    assert.notEqual(table.slotOf("a"), undefined, "a backend without heartbeats (CLI, store) never expires");
  });

  test("the backend pool opens nothing before a client, fills at the first one, drops idle sockets at the timeout and refills only on demand", async () => {
    await start({ EDGEPROXY_TLS_ENABLED: "false", EDGEPROXY_POOL_ENABLED: "true", EDGEPROXY_POOL_MAX_PER_BACKEND: "2", EDGEPROXY_POOL_IDLE_TIMEOUT_SECS: "2" });
    await clock.advance(10_000);
    assert.equal(transport.connects, 0, "ten seconds of sweeps and reloads, no client: no socket");

    const client = transport.client("10.0.60.1");
    await clock.advance(0);
    assert.equal(transport.connects, 3, "the client's own connect, then two for the pool");
    client.close();
    await clock.advance(1999);
    assert.equal(transport.upstreamsClosed, 0, "idle, not yet for the timeout");
    await clock.advance(1001); // the next sweep
    assert.equal(transport.upstreamsClosed, 2, "both idle sockets dropped");
    await clock.advance(10_000);
    assert.equal(transport.connects, 3, "no refill without a client");
  });

  test("db show shows the circuit state the running proxy publishes", async () => {
    await start({ EDGEPROXY_CIRCUIT_BREAKER_ENABLED: "true", EDGEPROXY_CIRCUIT_FAILURE_THRESHOLD: "1", EDGEPROXY_CIRCUIT_TIMEOUT_SECS: "60", EDGEPROXY_CONNECT_ATTEMPTS: "2" });
    transport.refused.add(7001);
    transport.refused.add(7002);
    transport.client("10.0.0.1"); // both refuse: each circuit opens at its first failure
    await clock.advance(1000); // the live state's next publish
    assert.equal(said("circuit opened").length, 2);
    const res = await runCli(["--db", db.path, "db", "show", "--json"]);
    assert.equal(res.code, 0, res.stderr);
    const rows = JSON.parse(res.stdout) as { id: string; live: { circuit: string | null } | null }[];
    assert.deepEqual(rows.map((r) => [r.id, r.live?.circuit]), [["a", "open"], ["b", "open"]]);
  });

  test("two data planes run against one shared engine: both listen, the metrics add up their traffic, close stops both", async () => {
    const p = await start({ EDGEPROXY_TLS_ENABLED: "false" }, 2);
    assert.equal(p.planes.length, 2);
    assert.deepEqual(transport.events, ["tcp listen", "tcp listen"]);
    assert.notEqual(p.planes[0]!.listener!.address.port, p.planes[1]!.listener!.address.port);
    const client = transport.client("10.0.0.2");
    await clock.advance(0);
    const { engine, table } = p.control.shared;
    assert.equal(engine.active(table.slotOf("a")!) + engine.active(table.slotOf("b")!), 1, "the shared engine counts the connection");
    assert.deepEqual([p.planes[0]!.handler.counters.accepted, p.planes[1]!.handler.counters.accepted], [0, 1]);
    assert.equal(trafficOf(p.planes).counters.accepted, 1);
    assert.equal([...trafficOf(p.planes).inFlight].length, 1);
    client.close();
    await close(p);
    assert.deepEqual(transport.events, ["tcp listen", "tcp listen", "tcp close", "tcp close"]);
  });
});

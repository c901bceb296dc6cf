// Active health checks through the real proxy process: an HTTP check failing then recovering moves
// traffic away and back (affinity included), a hanging backend times out without holding up the
// others, `db show` shows the probe state; a TCP check follows a backend that stops listening.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { refusedPort, startBackend, whoAnswers, type TestBackend } from "../fixtures/backends.ts";
import { createRoutingDb, type RoutingDb } from "../fixtures/routing-db.ts";
import { startProxy, type ProxyProcess } from "../fixtures/proxy-process.ts";
import { runCli } from "../cli/run-cli.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An HTTP backend: GET /health answers `status`; any other path answers its id. */
interface HttpBackend {
  readonly id: string;
  readonly port: number;
  status: number;
  healthChecks: number;
  close(): Promise<void>;
}

function startHttpBackend(id: string, options: { hang?: boolean } = {}): Promise<HttpBackend> {
  const server = http.createServer((req, res) => {
    if (req.url === "/health") {
      backend.healthChecks++;
      if (options.hang) return; // accepts, never answers: the check must time out
      res.writeHead(backend.status, { "content-type": "text/plain" }).end(backend.status === 200 ? "ok" : "failing");
      return;
    }
    res.writeHead(200, { "content-type": "text/plain", "content-length": String(id.length), connection: "close" }).end(id);
  });
  const backend: HttpBackend = {
    id, port: 0, status: 200, healthChecks: 0,
    close: () => new Promise<void>((done) => { server.closeAllConnections(); server.close(() => done()); }),
  };
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      (backend as { port: number }).port = (server.address() as net.AddressInfo).port;
      resolve(backend);
    });
  });
}

/** One GET over a new TCP connection from `source` through the proxy; resolves with the body. */
function getVia(port: number, source: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: "127.0.0.1", localAddress: source });
    let data = "";
    const timer = setTimeout(() => { socket.destroy(); reject(new Error("no answer within 5 s")); }, 5000);
    socket.setEncoding("utf8");
    socket.on("connect", () => socket.write("GET /whoami HTTP/1.1\r\nHost: backend\r\nConnection: close\r\n\r\n"));
    socket.on("data", (d: string) => { data += d; });
    socket.on("error", (e) => { clearTimeout(timer); reject(e); });
    socket.on("close", () => {
      clearTimeout(timer);
      const body = data.indexOf("\r\n\r\n");
      resolve(body < 0 ? "" : data.slice(body + 4));
    });
  });
}

async function probeColumn(dbPath: string): Promise<Record<string, string | null>> {
  const res = await runCli(["--db", dbPath, "db", "show", "--json"]);
  assert.equal(res.code, 0, res.stderr);
  const rows = JSON.parse(res.stdout) as { id: string; live: { probe: string | null } | null }[];
  return Object.fromEntries(rows.map((r) => [r.id, r.live?.probe ?? null]));
}

/** The first log line `msg` about `backend` (waits for it). */
async function logFor(proxy: ProxyProcess, msg: string, backend: string): Promise<Record<string, unknown>> {
  const find = () => proxy.logs.find((l) => l.msg === msg && l.backend === backend);
  await until(`log "${msg}" for ${backend}`, () => find() !== undefined);
  return find()!;
}

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(100);
  }
}

describe("HTTP health check end to end", () => {
  let web: HttpBackend[];
  let slow: HttpBackend;
  let db: RoutingDb;
  let proxy: ProxyProcess;

  before(async () => {
    web = [await startHttpBackend("web-1"), await startHttpBackend("web-2")];
    slow = await startHttpBackend("slow-1", { hang: true });
    db = await createRoutingDb([
      { id: "web-1", region: "sa", port: web[0]!.port },
      { id: "web-2", region: "sa", port: web[1]!.port },
      // Far away (another region): never chosen while web-1/2 are up, but probed all the same.
      { id: "slow-1", region: "eu", port: slow.port },
    ]);
    proxy = await startProxy({
      EDGEPROXY_DB_PATH: db.path, EDGEPROXY_REGION: "sa", EDGEPROXY_DB_RELOAD_SECS: "1",
      EDGEPROXY_HEALTH_CHECK_ENABLED: "true", EDGEPROXY_HEALTH_CHECK_TYPE: "http", EDGEPROXY_HEALTH_CHECK_PATH: "/health",
      EDGEPROXY_HEALTH_CHECK_INTERVAL_SECS: "1", EDGEPROXY_HEALTH_CHECK_TIMEOUT_SECS: "1",
      EDGEPROXY_HEALTH_HEALTHY_THRESHOLD: "2", EDGEPROXY_HEALTH_UNHEALTHY_THRESHOLD: "2",
      // A host whose outgoing HTTP goes through a proxy: the checks must still talk to the backends
      // (Bun's and Deno's fetch would send them to this refused port and fail every backend).
      HTTP_PROXY: `http://127.0.0.1:${await refusedPort()}`, http_proxy: `http://127.0.0.1:${await refusedPort()}`,
    });
  });
  after(async () => {
    await proxy?.stop();
    db?.close();
    await Promise.all([...(web ?? []), slow].filter(Boolean).map((b) => b.close()));
  });

  test("a failing check takes a backend out (its bound clients move), recovery brings it back; db show follows", async () => {
    const source = "127.0.3.1";
    const first = await getVia(proxy.port, source);
    assert.ok(first === "web-1" || first === "web-2", first);
    assert.equal(await getVia(proxy.port, source), first, "affinity keeps the client on its backend");
    const bound = web.find((b) => b.id === first)!;
    const other = web.find((b) => b.id !== first)!;
    await until("all backends probed", () => web.every((b) => b.healthChecks > 0));

    bound.status = 503;
    const down = await logFor(proxy, "backend unhealthy (health check)", bound.id);
    assert.equal(down.error, "HTTP 503");
    for (let i = 0; i < 5; i++) assert.equal(await getVia(proxy.port, source), other.id, "the bound client is rebound away from the down backend");
    assert.equal(await getVia(proxy.port, "127.0.3.2"), other.id);
    await until("db show reports the probe state", async () => {
      const probe = await probeColumn(db.path);
      return probe[bound.id] === "down" && probe[other.id] === "up";
    });

    bound.status = 200;
    await logFor(proxy, "backend healthy again (health check)", bound.id);
    other.status = 500; // now only the recovered backend can take new clients
    await until("traffic returns to the recovered backend", async () => (await getVia(proxy.port, "127.0.3.3")) === bound.id);
    await until("db show follows", async () => (await probeColumn(db.path))[bound.id] === "up");
    other.status = 200;
  });

  test("a backend that never answers times out and goes down without delaying the other probes", async () => {
    await until("slow-1 down", async () => (await probeColumn(db.path))["slow-1"] === "down");
    const line = proxy.logs.find((l) => l.msg === "backend unhealthy (health check)" && l.backend === "slow-1")!;
    assert.match(String(line.error), /timeout after 1000 ms/);
    // The fast backends keep being checked meanwhile (that a slow probe skips only its own backend
    // is logic, tested on fake time in test/health/health-checker.test.ts).
    const before = web.map((b) => b.healthChecks);
    await until("web backends probed twice more", () => web.every((b, i) => b.healthChecks - before[i]! >= 2));
  });

  test("a disabled backend is not probed and shows no probe state", async () => {
    db.exec("UPDATE backends SET healthy = 0 WHERE id = 'slow-1'");
    await until("slow-1 unprobed", async () => (await probeColumn(db.path))["slow-1"] === null);
    // Two more rounds reach the others, none reaches slow-1.
    const checks = slow.healthChecks;
    const before = web.map((b) => b.healthChecks);
    await until("two more rounds", () => web.every((b, i) => b.healthChecks - before[i]! >= 2));
    assert.equal(slow.healthChecks, checks);
  });
});

describe("TCP health check end to end", () => {
  let a: TestBackend;
  let b: TestBackend;
  let db: RoutingDb;
  let proxy: ProxyProcess;

  before(async () => {
    a = await startBackend("tcp-a");
    b = await startBackend("tcp-b");
    db = await createRoutingDb([
      { id: "tcp-a", region: "sa", port: a.port, weight: 1000 },
      { id: "tcp-b", region: "sa", port: b.port },
    ]);
    proxy = await startProxy({
      EDGEPROXY_DB_PATH: db.path, EDGEPROXY_DB_RELOAD_SECS: "1",
      EDGEPROXY_HEALTH_CHECK_ENABLED: "true", EDGEPROXY_HEALTH_CHECK_INTERVAL_SECS: "1",
      EDGEPROXY_HEALTH_HEALTHY_THRESHOLD: "1", EDGEPROXY_HEALTH_UNHEALTHY_THRESHOLD: "1",
      EDGEPROXY_METRICS_ENABLED: "true", EDGEPROXY_METRICS_LISTEN_ADDR: "127.0.0.1:0",
    });
  });
  after(async () => {
    await proxy?.stop();
    db?.close();
    await Promise.all([a, b].filter(Boolean).map((x) => x.close()));
  });

  test("a backend that stops listening goes down; listening again brings it back", async () => {
    const port = a.port;
    const early = proxy.logs.filter((l) => String(l.msg).includes("(health check)"));
    assert.deepEqual(early, [], "both backends stay up while they listen");
    await a.close();
    const down = await logFor(proxy, "backend unhealthy (health check)", "tcp-a");
    assert.match(String(down.error), /ECONNREFUSED|ECONNRESET/); // RESET: a probe caught in the closing backlog
    // Without the check every client would first be refused by tcp-a (weight 1000) and fail over.
    const failuresBefore = proxy.logs.filter((l) => l.msg === "backend connect failed").length;
    for (let i = 0; i < 5; i++) assert.equal(await whoAnswers(proxy.port, `127.0.4.${i + 1}`), "tcp-b");
    assert.equal(proxy.logs.filter((l) => l.msg === "backend connect failed").length, failuresBefore, "no client tried the down backend");

    // The verdict is in the metrics, and the routable count (metrics and /health) leaves tcp-a out.
    const base = `http://${String((await proxy.waitForLog("edgeProxy metrics listening")).addr)}`;
    await until("metrics show tcp-a down", async () => metricsShow(await scrape(base), { a: 0, b: 1, routable: 1 }));
    assert.equal((await (await fetch(`${base}/health`)).json() as { backends: number }).backends, 1);

    a = await startBackendOn("tcp-a", port);
    await logFor(proxy, "backend healthy again (health check)", "tcp-a");
    assert.equal(await whoAnswers(proxy.port, "127.0.4.10"), "tcp-a");
    await until("metrics show tcp-a up", async () => metricsShow(await scrape(base), { a: 1, b: 1, routable: 2 }));
    assert.equal((await (await fetch(`${base}/health`)).json() as { backends: number }).backends, 2);
  });
});

/** startBackend on a given port (the one a stopped backend had). */
async function startBackendOn(id: string, port: number): Promise<TestBackend> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    socket.write(`${id}\n`);
    socket.pipe(socket);
  });
  await new Promise<void>((resolve, reject) => { server.once("error", reject); server.listen(port, "127.0.0.1", () => resolve()); });
  return {
    id, port, accepted: 0, open: 0,
    close: () => new Promise<void>((done) => { for (const s of sockets) s.destroy(); server.close(() => done()); }),
  };
}

async function scrape(base: string): Promise<string> {
  const res = await fetch(`${base}/metrics`);
  assert.equal(res.status, 200);
  return res.text();
}

/** The exposition has edgeproxy_backend_healthy for tcp-a/tcp-b and edgeproxy_backends_routable as given. */
function metricsShow(text: string, want: { a: number; b: number; routable: number }): boolean {
  const value = (series: string) => {
    const line = text.split("\n").find((l) => l.startsWith(`${series} `));
    return line === undefined ? NaN : Number(line.slice(series.length + 1));
  };
  return value(`edgeproxy_backend_healthy{backend="tcp-a",region="sa"}`) === want.a
    && value(`edgeproxy_backend_healthy{backend="tcp-b",region="sa"}`) === want.b
    && value("edgeproxy_backends_routable") === want.routable;
}

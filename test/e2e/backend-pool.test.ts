// The backend connection pool through the real proxy process: a client gets a pre-connected socket
// (with the greeting the backend sent while it waited), the pool refills in the background, sockets
// the backend closed are never handed out, idle ones expire, and a removed backend's pool is closed.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { createRoutingDb, type RoutingDb } from "../fixtures/routing-db.ts";
import { startProxy, type ProxyProcess } from "../fixtures/proxy-process.ts";
import { socketsTo, TCP } from "../fixtures/tcp-table.ts";
import { countedConnections, METRICS_ON, metricsUrlOf } from "../fixtures/proxy-metrics.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Greets every connection with "<id> #<n>\n" (n counts accepts), then echoes. */
interface CountingBackend {
  readonly port: number;
  readonly accepted: number;
  readonly open: number;
  /** The backend closes every connection it holds (as a restart or its own idle timeout would). */
  dropAll(): void;
  close(): Promise<void>;
}

function startCountingBackend(id: string): Promise<CountingBackend> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    accepted++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    socket.write(`${id} #${accepted}\n`);
    socket.pipe(socket);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve({
      port: (server.address() as net.AddressInfo).port,
      get accepted() { return accepted; },
      get open() { return sockets.size; },
      dropAll: () => { for (const s of sockets) s.destroy(); },
      close: () => new Promise<void>((done) => { for (const s of sockets) s.destroy(); server.close(() => done()); }),
    }));
  });
}

/** Connects through the proxy, sends `payload`, and returns everything received until the echo came back. */
function exchange(port: number, payload: string, source: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: "127.0.0.1", localAddress: source });
    let data = "";
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`no echo within 5 s (got ${JSON.stringify(data)})`)); }, 5000);
    socket.setEncoding("utf8");
    socket.on("connect", () => socket.write(payload));
    socket.on("data", (d: string) => {
      data += d;
      if (data.endsWith(payload)) { clearTimeout(timer); socket.end(); resolve(data); }
    });
    socket.on("error", (e) => { clearTimeout(timer); reject(e); });
    socket.on("close", () => { clearTimeout(timer); resolve(data); });
  });
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 8000): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(50);
  }
}

const connectionNumber = (answer: string): number => Number(/#(\d+)\n/.exec(answer)?.[1] ?? NaN);

describe("backend connection pool end to end", () => {
  let backend: CountingBackend;
  let db: RoutingDb;
  let proxy: ProxyProcess;

  before(async () => {
    backend = await startCountingBackend("pool-1");
    db = await createRoutingDb([{ id: "pool-1", region: "sa", port: backend.port }]);
    proxy = await startProxy({
      EDGEPROXY_DB_PATH: db.path, EDGEPROXY_DB_RELOAD_SECS: "1",
      EDGEPROXY_POOL_ENABLED: "true", EDGEPROXY_POOL_MAX_PER_BACKEND: "3",
    });
  });
  after(async () => {
    await proxy?.stop();
    db?.close();
    await backend?.close();
  });

  // That the pool opens nothing before a client, however long the proxy runs, is tested on fake time
  // in test/composition/edge-proxy.test.ts.
  test("no socket is opened before the first client; then the pool fills to its maximum", async () => {
    assert.equal(backend.accepted, 0);
    const answer = await exchange(proxy.port, "hello\n", "127.0.5.1");
    assert.match(answer, /^pool-1 #[1-4]\nhello\n$/, "the first client connected itself (the pool starts filling meanwhile)");
    await until("pool filled", () => backend.accepted === 4 && backend.open === 3);
  });

  test("a client gets a pre-connected socket with the greeting it holds, and the pool refills", async () => {
    const answer = await exchange(proxy.port, "ping\n", "127.0.5.2");
    const n = connectionNumber(answer);
    assert.ok(n >= 2 && n <= 4, `served by pooled connection #${n}: ${JSON.stringify(answer)}`);
    assert.equal(answer, `pool-1 #${n}\nping\n`, "greeting once, then the echo");
    await until("refilled", () => backend.accepted === 5 && backend.open === 3);
    // Each pooled socket serves one client only: three more clients, three more refills.
    const seen = new Set<number>([n]);
    for (let i = 0; i < 3; i++) seen.add(connectionNumber(await exchange(proxy.port, "x\n", `127.0.5.${3 + i}`)));
    assert.equal(seen.size, 4, `distinct backend connections: ${[...seen].join(", ")}`);
    await until("refilled again", () => backend.accepted === 8 && backend.open === 3);
  });

  test("sockets the backend closed while they waited are never handed out", async () => {
    const before = backend.accepted;
    const pooled = socketsTo(backend.port, [TCP.ESTABLISHED]);
    backend.dropAll();
    if (pooled !== null) {
      assert.equal(pooled, 3, "three pooled sockets waited");
      // The proxy saw each FIN and closed its side: none of its sockets to the backend is left open.
      await until("the proxy closed the dropped sockets", () => socketsTo(backend.port, [TCP.ESTABLISHED, TCP.CLOSE_WAIT]) === 0);
    } else {
      await sleep(200); // no /proc/net/tcp (not Linux): give the proxy time to see the FINs
    }
    const answer = await exchange(proxy.port, "still here\n", "127.0.5.10");
    assert.ok(connectionNumber(answer) > before, `a fresh connection, not a dead pooled one: ${JSON.stringify(answer)}`);
    assert.match(answer, /^pool-1 #\d+\nstill here\n$/);
  });

  test("a removed backend's pooled sockets are closed", async () => {
    await until("pool full", () => backend.open === 3);
    db.exec("UPDATE backends SET deleted = 1 WHERE id = 'pool-1'");
    await until("pool closed", () => backend.open === 0);
  });
});

describe("backend connection pool and the hard limit", () => {
  let backend: CountingBackend;
  let db: RoutingDb;
  let proxy: ProxyProcess;
  let metricsUrl: string;

  before(async () => {
    backend = await startCountingBackend("pool-3");
    db = await createRoutingDb([{ id: "pool-3", region: "sa", port: backend.port, soft_limit: 1, hard_limit: 2 }]);
    proxy = await startProxy({
      EDGEPROXY_DB_PATH: db.path, EDGEPROXY_POOL_ENABLED: "true", EDGEPROXY_POOL_MAX_PER_BACKEND: "3", ...METRICS_ON,
    });
    metricsUrl = await metricsUrlOf(proxy);
  });
  after(async () => {
    await proxy?.stop();
    db?.close();
    await backend?.close();
  });

  test("a pooled socket handed out counts as an active connection: no more than hard_limit clients", async () => {
    await exchange(proxy.port, "warm\n", "127.0.7.1");
    // The warm-up client must be gone in the proxy's own count, not only at the backend: while the proxy
    // still counts it, the second held client would be over hard_limit.
    await until("warm-up client closed and pool filled", async () =>
      backend.accepted === 4 && backend.open === 3 && await countedConnections(metricsUrl, "pool-3") === 0);
    const held = await Promise.all([1, 2].map((i) => hold(proxy.port, `held ${i}\n`, `127.0.7.${1 + i}`)));
    try {
      for (const h of held) assert.match(h.answer, /^pool-3 #\d+\nheld \d\n$/);
      await until("pool refilled beside the two clients", () => backend.open === 5);
      // Idle pooled sockets are ready, but the backend is at its hard limit: the third client is refused.
      assert.equal(await exchange(proxy.port, "third\n", "127.0.7.9").catch(() => ""), "", "over hard_limit: closed (or reset) without a backend");
      const refused = proxy.logs.filter((l) => l.msg === "backend connect failed").length;
      assert.equal(refused, 0, "not a connect failure: no backend was chosen");
    } finally {
      for (const h of held) h.socket.destroy();
    }
    await until("a slot is free again", async () => (await exchange(proxy.port, "again\n", "127.0.7.10").catch(() => "")).endsWith("again\n"));
  });
});

/** Connects through the proxy, exchanges `payload`, and keeps the connection open. */
function hold(port: number, payload: string, source: string): Promise<{ socket: net.Socket; answer: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: "127.0.0.1", localAddress: source });
    let data = "";
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`no echo within 5 s (got ${JSON.stringify(data)})`)); }, 5000);
    socket.setEncoding("utf8");
    socket.on("connect", () => socket.write(payload));
    socket.on("data", (d: string) => {
      data += d;
      if (data.endsWith(payload)) { clearTimeout(timer); resolve({ socket, answer: data }); }
    });
    socket.on("error", (e) => { clearTimeout(timer); reject(e); });
  });
}

describe("backend connection pool idle timeout", () => {
  let backend: CountingBackend;
  let db: RoutingDb;
  let proxy: ProxyProcess;

  before(async () => {
    backend = await startCountingBackend("pool-2");
    db = await createRoutingDb([{ id: "pool-2", region: "sa", port: backend.port }]);
    proxy = await startProxy({
      EDGEPROXY_DB_PATH: db.path, EDGEPROXY_POOL_ENABLED: "true", EDGEPROXY_POOL_MAX_PER_BACKEND: "2",
      EDGEPROXY_POOL_IDLE_TIMEOUT_SECS: "1",
    });
  });
  after(async () => {
    await proxy?.stop();
    db?.close();
    await backend?.close();
  });

  // That they are not replaced without clients, however long nobody comes, is tested on fake time in
  // test/composition/edge-proxy.test.ts and test/pool/backend-pool.test.ts.
  test("idle sockets are closed after the idle timeout", async () => {
    await exchange(proxy.port, "a\n", "127.0.6.1");
    await until("pool filled", () => backend.accepted === 3 && backend.open === 2);
    await until("idle sockets closed", () => backend.open === 0, 5000);
    assert.equal(backend.accepted, 3, "closed, not replaced");
  });

  test("shutdown closes the pool", async () => {
    await exchange(proxy.port, "b\n", "127.0.6.2");
    await until("pool filled", () => backend.open === 2);
    assert.equal(await proxy.stop(), 0);
    await until("closed", () => backend.open === 0, 3000);
  });
});

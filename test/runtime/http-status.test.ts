// The health checks' HTTP GET over real loopback sockets: the status code of a fresh connection's
// answer, the request it sends, no redirect followed, bad answers and aborts rejected, no proxy used.
import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { httpGetStatus } from "../../src/runtime/http-status.ts";

async function listen(server: net.Server, host = "127.0.0.1"): Promise<number> {
  await new Promise<void>((resolve, reject) => { server.once("error", reject); server.listen(0, host, () => resolve()); });
  return (server.address() as net.AddressInfo).port;
}
const close = (server: net.Server) => new Promise<void>((r) => server.close(() => r()));
const never = new AbortController().signal;

test("resolves with the status code; one request per connection, Host and path as given", async () => {
  const seen: { url?: string; host?: string; ua?: string; connection?: string }[] = [];
  let connections = 0;
  let status = 200;
  const server = http.createServer((req, res) => {
    seen.push({ url: req.url, host: req.headers.host, ua: req.headers["user-agent"], connection: req.headers.connection });
    res.writeHead(status, status === 301 ? { location: "/elsewhere" } : {}).end("x".repeat(100_000));
  });
  server.on("connection", () => connections++);
  const port = await listen(server);
  try {
    for (const s of [200, 204, 301, 503]) {
      status = s;
      assert.equal(await httpGetStatus({ host: "127.0.0.1", port }, "/health?x=1", never, "probe-test"), s);
    }
    assert.equal(connections, 4, "a fresh connection per check (no keep-alive, no redirect followed)");
    assert.deepEqual(seen[0], { url: "/health?x=1", host: `127.0.0.1:${port}`, ua: "probe-test", connection: "close" });
  } finally {
    server.closeAllConnections();
    await close(server);
  }
});

test("IPv6 literal: Host in brackets", async (t) => {
  let host: string | undefined;
  const server = http.createServer((req, res) => { host = req.headers.host; res.end(); });
  let port: number;
  try {
    port = await listen(server, "::1");
  } catch {
    t.skip("no ::1 on this machine");
    return;
  }
  try {
    assert.equal(await httpGetStatus({ host: "::1", port }, "/h", never, "probe-test"), 200);
    assert.equal(host, `[::1]:${port}`);
  } finally {
    await close(server);
  }
});

test("an answer that is not HTTP, a close before the status line, a refused connect: rejected", async () => {
  const greeter = net.createServer((s) => { s.on("error", () => {}); s.resume(); s.end("backend-1 ready\n"); });
  const closer = net.createServer((s) => { s.on("error", () => {}); s.destroy(); });
  const gp = await listen(greeter), cp = await listen(closer);
  try {
    await assert.rejects(httpGetStatus({ host: "127.0.0.1", port: gp }, "/", never, "t"), /not an HTTP response: "backend-1 ready"/);
    await assert.rejects(httpGetStatus({ host: "127.0.0.1", port: cp }, "/", never, "t"), /closed|ECONNRESET/);
  } finally {
    await close(greeter);
    await close(closer);
  }
  await assert.rejects(httpGetStatus({ host: "127.0.0.1", port: cp }, "/", never, "t"), /ECONNREFUSED/);
});

test("abort (the checker's timeout) rejects at once and closes the connection", async () => {
  let open = 0;
  const sockets = new Set<net.Socket>();
  const silent = net.createServer((s) => { open++; sockets.add(s); s.resume(); s.on("error", () => {}); s.on("close", () => { open--; sockets.delete(s); }); });
  const port = await listen(silent);
  try {
    const abort = new AbortController();
    const pending = httpGetStatus({ host: "127.0.0.1", port }, "/", abort.signal, "t");
    for (let i = 0; i < 100 && open === 0; i++) await new Promise((r) => setTimeout(r, 10));
    abort.abort();
    await assert.rejects(pending, /aborted/);
    for (let i = 0; i < 100 && open > 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(open, 0, "the probe's connection is closed");
    await assert.rejects(httpGetStatus({ host: "127.0.0.1", port }, "/", abort.signal, "t"), /aborted/, "an aborted signal: no connect");
  } finally {
    for (const s of sockets) s.destroy();
    await close(silent);
  }
});

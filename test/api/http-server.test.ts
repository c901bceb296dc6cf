// The API over real HTTP on this runtime's own server (Bun.serve, Deno.serve, node:http), port 0.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { serveHttp, type HttpServer } from "../../src/runtime/http-server.ts";
import { runtime } from "../fixtures/runtime.ts";
import { apiFixture, registration, TOKEN, type ApiFixture } from "./api-fixture.ts";
import { malformedBody, prng } from "./fuzz-bodies.ts";

/** One raw HTTP/1.1 exchange (what fetch() would not send: lying lengths, broken framing). */
function rawRequest(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: "127.0.0.1" });
    let got = "";
    const timer = setTimeout(() => { socket.destroy(); resolve(got); }, 5000);
    socket.setEncoding("latin1");
    socket.on("data", (d: string) => {
      got += d;
      // The status line and headers are all a test reads; some servers keep reading a body that never comes.
      if (got.includes("\r\n\r\n")) { clearTimeout(timer); socket.destroy(); resolve(got); }
    });
    socket.on("error", (e) => { clearTimeout(timer); reject(e); });
    socket.on("close", () => { clearTimeout(timer); resolve(got); });
    socket.end(bytes);
  });
}

describe(`API over HTTP (${runtime})`, () => {
  let api: ApiFixture;
  let server: HttpServer;
  let base: string;

  before(async () => {
    api = apiFixture({ token: TOKEN });
    server = await serveHttp({ host: "127.0.0.1", port: 0 }, (req) => api.app.fetch(req));
    base = `http://127.0.0.1:${server.address.port}`;
  });
  after(async () => {
    await server.close();
    await api.close();
  });

  test("the server reports this runtime and the bound port", () => {
    assert.equal(server.runtime, runtime);
    assert.ok(server.address.port > 0);
  });

  test("health, register, heartbeat, list, delete", async () => {
    const health = await fetch(`${base}/health`);
    assert.equal(health.status, 200);
    assert.match(health.headers.get("content-type") ?? "", /application\/json/);
    assert.equal((await health.json()).status, "ok");
    const auth = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };
    const reg = await fetch(`${base}/api/v1/register`, { method: "POST", headers: auth, body: JSON.stringify(registration()) });
    assert.equal(reg.status, 201, await reg.clone().text());
    await reg.body?.cancel();
    const beat = await fetch(`${base}/api/v1/heartbeat/eu-1`, { method: "POST", headers: auth });
    assert.equal(beat.status, 200);
    await beat.body?.cancel();
    const list = await (await fetch(`${base}/api/v1/backends`)).json();
    assert.equal(list.total, 1);
    const unauthorized = await fetch(`${base}/api/v1/backends/eu-1`, { method: "DELETE" });
    assert.equal(unauthorized.status, 401);
    await unauthorized.body?.cancel();
    const del = await fetch(`${base}/api/v1/backends/eu-1`, { method: "DELETE", headers: auth });
    assert.equal((await del.json()).deregistered, true);
  });

  test("over 64 KiB is 400 with a content-length, chunked, or a content-length that lies about a huge body", async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    const big = JSON.stringify(registration({ app: "x".repeat(100_000) }));
    const res = await fetch(`${base}/api/v1/register`, { method: "POST", headers: auth, body: big });
    assert.equal(res.status, 400);
    assert.equal((await res.json()).field, "body");
    const chunked = await rawRequest(server.address.port,
      `POST /api/v1/register HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n` +
      `${(70_000).toString(16)}\r\n${"y".repeat(70_000)}\r\n0\r\n\r\n`);
    assert.match(chunked, /^HTTP\/1\.1 400/);
    const announced = await rawRequest(server.address.port,
      `POST /api/v1/register HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: 10000000\r\nConnection: close\r\n\r\n{"id":`);
    assert.match(announced, /^HTTP\/1\.1 400/);
  });

  test("malformed HTTP is answered by the server, never with a 5xx", async () => {
    for (const bytes of ["GARBAGE\r\n\r\n", "GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", "POST /api/v1/register HTTP/1.1\r\n\r\n"]) {
      const reply = await rawRequest(server.address.port, bytes);
      assert.doesNotMatch(reply, /^HTTP\/1\.[01] 5/, JSON.stringify(bytes));
    }
  });

  test("300 malformed bodies over HTTP: no 5xx, store unchanged", async () => {
    const marker = await api.store.changeMarker();
    const rand = prng(0xbeef);
    const auth = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };
    for (let i = 0; i < 300; i++) {
      const body = malformedBody(rand);
      const res = await fetch(`${base}/api/v1/register`, { method: "POST", headers: auth, body });
      const text = await res.text();
      assert.ok(res.status >= 400 && res.status < 500, `${res.status} ${text.slice(0, 200)} for ${JSON.stringify(body.slice(0, 100))}`);
    }
    assert.equal(await api.store.changeMarker(), marker);
  });
});

test("close() returns with an idle keep-alive connection open, and frees the port", async () => {
  const server = await serveHttp({ host: "127.0.0.1", port: 0 }, () => new Response("ok"));
  const { port } = server.address;
  const socket = net.connect({ port, host: "127.0.0.1" });
  await new Promise<void>((r) => socket.once("connect", () => r()));
  socket.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  await new Promise<void>((r) => socket.once("data", () => r()));
  await server.close();
  socket.destroy();
  const again = await serveHttp({ host: "127.0.0.1", port }, () => new Response("again"));
  await again.close();
});

test("a port in use is a rejected promise, not a crash", async () => {
  const first = await serveHttp({ host: "127.0.0.1", port: 0 }, () => new Response("ok"));
  try {
    await assert.rejects(serveHttp({ host: "127.0.0.1", port: first.address.port }, () => new Response("no")));
  } finally {
    await first.close();
  }
});

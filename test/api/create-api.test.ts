// The API through app.request(): every endpoint, its validation, its errors, the token guard.
import { test, describe, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { apiFixture, registration, T0, TOKEN, type ApiFixture } from "./api-fixture.ts";
import { repoRoot } from "../fixtures/runtime.ts";

const pkgVersion = JSON.parse(readFileSync(`${repoRoot}/package.json`, "utf8")).version as string;

describe("GET /health", () => {
  test("status, the package version, routable backends and uptime", async () => {
    const api = apiFixture({ routableBackends: () => 7 });
    try {
      api.clock.now = T0 + 60_000;
      const res = await api.request("/health");
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { status: "ok", version: pkgVersion, backends: 7, uptime_secs: 65 });
    } finally {
      await api.close();
    }
  });

  test("draining during graceful shutdown: 503 with status draining", async () => {
    let status: "ok" | "draining" = "ok";
    const api = apiFixture({ status: () => status });
    try {
      assert.equal((await api.request("/health")).status, 200);
      status = "draining";
      const res = await api.request("/health");
      assert.equal(res.status, 503);
      assert.equal(res.body.status, "draining");
    } finally {
      await api.close();
    }
  });
});

describe("POST /api/v1/register", () => {
  let api: ApiFixture;
  beforeEach(() => { api = apiFixture(); });
  afterEach(() => api.close());

  test("writes the routing store with the documented defaults and a derived country", async () => {
    const res = await api.request("/api/v1/register", { json: registration() });
    assert.equal(res.status, 201);
    assert.equal(res.body.id, "eu-1");
    assert.equal(res.body.created, true);
    const stored = await api.store.getBackend("eu-1");
    assert.deepEqual(stored?.backend, {
      id: "eu-1", app: "game", region: "eu", country: "DE", host: "10.0.0.1", port: 7000, healthy: true,
      weight: 2, softLimit: 100, hardLimit: 150, version: stored!.version,
    });
    assert.equal(stored?.source, "api");
    assert.equal(stored?.lastHeartbeatMs, T0, "registration counts as a heartbeat");
    const snapshot = await api.store.readSnapshot();
    assert.deepEqual(snapshot.snapshot.backends.map((b) => b.id), ["eu-1"], "it is in what the proxy routes");
    assert.equal(api.changes.count, 1, "the proxy is told to apply it now");
  });

  test("explicit fields win; null country means no country tier; an unknown region has no derived country", async () => {
    await api.request("/api/v1/register", { json: registration({ country: "fr", weight: 5, soft_limit: 10, hard_limit: 20 }) });
    assert.deepEqual((await api.store.getBackend("eu-1"))?.backend && { ...(await api.store.getBackend("eu-1"))!.backend!, version: 0 }, {
      id: "eu-1", app: "game", region: "eu", country: "FR", host: "10.0.0.1", port: 7000, healthy: true, weight: 5, softLimit: 10, hardLimit: 20, version: 0,
    });
    await api.request("/api/v1/register", { json: registration({ id: "n", country: null }) });
    assert.equal((await api.store.getBackend("n"))?.backend?.country, null);
    await api.request("/api/v1/register", { json: registration({ id: "m", region: "Mars-1" }) });
    assert.equal((await api.store.getBackend("m"))?.backend?.region, "mars-1");
    assert.equal((await api.store.getBackend("m"))?.backend?.country, null);
    await api.request("/api/v1/register", { json: registration({ id: "s", soft_limit: 400 }) });
    assert.equal((await api.store.getBackend("s"))?.backend?.hardLimit, 400, "hard limit defaults to max(150, soft_limit)");
  });

  test("re-registering updates the row (200), revives a deregistered one and refreshes its heartbeat", async () => {
    await api.request("/api/v1/register", { json: registration() });
    await api.request("/api/v1/backends/eu-1", { method: "DELETE" });
    api.clock.now = T0 + 1000;
    const res = await api.request("/api/v1/register", { json: registration({ ip: "10.0.0.2" }) });
    assert.equal(res.status, 200);
    assert.equal(res.body.created, false);
    const stored = await api.store.getBackend("eu-1");
    assert.equal(stored?.deleted, false);
    assert.equal(stored?.backend?.host, "10.0.0.2");
    assert.equal(stored?.lastHeartbeatMs, T0 + 1000);
  });

  test("IPv6 and hostnames are accepted addresses", async () => {
    for (const [id, ip] of [["v6", "fd00::1"], ["host", "backend-1.internal"], ["v4", "127.0.0.1"]]) {
      const res = await api.request("/api/v1/register", { json: registration({ id, ip }) });
      assert.equal(res.status, 201, `${ip}: ${JSON.stringify(res.body)}`);
    }
  });

  const bad: [string, unknown, string, RegExp][] = [
    ["missing id", registration({ id: undefined }), "id", /id: required/],
    ["empty id", registration({ id: "" }), "id", /id: expected text/],
    ["id with a newline", registration({ id: "a\nb" }), "id", /control characters/],
    ["id too long", registration({ id: "x".repeat(256) }), "id", /1-255/],
    ["id with a lone surrogate (stored as U+FFFD, it would collide)", registration({ id: "\ud800x" }), "id", /lone surrogates/],
    ["id as a number", registration({ id: 7 }), "id", /got 7/],
    ["missing app", registration({ app: undefined }), "app", /app: required/],
    ["app as an object", registration({ app: {} }), "app", /got an object/],
    ["app with a newline", registration({ app: "a\nb" }), "app", /control characters/],
    ["missing region", registration({ region: undefined }), "region", /region: required/],
    ["bad region", registration({ region: "south america" }), "region", /region code/],
    ["bad country", registration({ country: "BRA" }), "country", /2-letter/],
    ["missing ip", registration({ ip: undefined }), "ip", /ip: required/],
    ["bad IPv4", registration({ ip: "10.0.0.256" }), "ip", /IPv4 address/],
    ["bad IPv4 with too few parts", registration({ ip: "10.0.0" }), "ip", /IPv4 address/],
    ["bad IPv6", registration({ ip: "fd00:::1" }), "ip", /IPv6/],
    ["ip with a port", registration({ ip: "10.0.0.1:80" }), "ip", /hostname/],
    ["ip as a number", registration({ ip: 167772161 }), "ip", /got 167772161/],
    ["missing port", registration({ port: undefined }), "port", /port: required/],
    ["port 0", registration({ port: 0 }), "port", /1 to 65535, got 0/],
    ["port 65536", registration({ port: 65536 }), "port", /1 to 65535, got 65536/],
    ["port as text", registration({ port: "80" }), "port", /got "80"/],
    ["port 1.5", registration({ port: 1.5 }), "port", /got 1.5/],
    ["weight 0", registration({ weight: 0 }), "weight", /weight: expected an integer from 1/],
    ["weight as text", registration({ weight: "2" }), "weight", /weight/],
    ["negative soft limit", registration({ soft_limit: -1 }), "soft_limit", /soft_limit/],
    ["hard below soft", registration({ soft_limit: 50, hard_limit: 10 }), "hard_limit", /from soft_limit \(50\)/],
    ["hard below the default soft", registration({ hard_limit: 10 }), "hard_limit", /from soft_limit \(100\)/],
    ["an unknown field", registration({ wieght: 3 }), "wieght", /unknown field/],
    ["a __proto__ key", JSON.parse(`{"__proto__": {"x": 1}, "id": "a", "app": "b", "region": "eu", "ip": "10.0.0.1", "port": 1}`), "__proto__", /unknown field/],
    ["an array", [registration()], "body", /JSON object/],
    ["a string", "hello", "body", /JSON object/],
    ["null", null, "body", /JSON object/],
  ];
  for (const [name, body, field, message] of bad) {
    test(`400 naming "${field}": ${name}`, async () => {
      const res = await api.request("/api/v1/register", { json: body });
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(res.body.field, field);
      assert.match(res.body.error, message);
      assert.ok(res.body.error.startsWith(`${field}: `), res.body.error);
      assert.deepEqual(await api.store.listBackends({ includeDeleted: true }), [], "nothing written");
    });
  }

  for (const [name, body] of [["not JSON", "{id: 1}"], ["empty", ""], ["truncated", '{"id": "a"'], ["binary", "\u0000\u00ff\ufffe"]] as const) {
    test(`400 naming "body": ${name}`, async () => {
      const res = await api.request("/api/v1/register", { method: "POST", body, headers: { "content-type": "application/json" } });
      assert.equal(res.status, 400);
      assert.equal(res.body.field, "body");
    });
  }

  test("a body over 64 KiB is refused (400 naming body), with or without a content-length", async () => {
    const big = JSON.stringify(registration({ app: "x".repeat(70_000) }));
    const res = await api.request("/api/v1/register", { method: "POST", body: big, headers: { "content-length": String(big.length) } });
    assert.equal(res.status, 400);
    assert.equal(res.body.field, "body");
    assert.match(res.body.error, /64 KiB/);
    const stream = new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode(big)); c.close(); } });
    const chunked = await api.request("/api/v1/register", { method: "POST", body: stream, duplex: "half" } as RequestInit);
    assert.equal(chunked.status, 400);
    assert.equal(chunked.body.field, "body");
    const justUnder = JSON.stringify(registration({ app: "x".repeat(60_000).slice(0, 255) }));
    assert.equal((await api.request("/api/v1/register", { method: "POST", body: justUnder })).status, 201);
  });
});

describe("heartbeats, listing and deregistration", () => {
  let api: ApiFixture;
  beforeEach(async () => {
    api = apiFixture();
    await api.request("/api/v1/register", { json: registration() });
  });
  afterEach(() => api.close());

  test("a heartbeat records the time and does not change the routing version", async () => {
    const before = await api.store.getBackend("eu-1");
    api.clock.now = T0 + 30_000;
    const res = await api.request("/api/v1/heartbeat/eu-1", { method: "POST" });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { id: "eu-1", status: "ok", expires_in_secs: 60 });
    const after = await api.store.getBackend("eu-1");
    assert.equal(after?.lastHeartbeatMs, T0 + 30_000);
    assert.equal(after?.version, before?.version);
  });

  test("a heartbeat for an unknown or deregistered id is 404; for a static (CLI) backend 409", async () => {
    assert.equal((await api.request("/api/v1/heartbeat/nope", { method: "POST" })).status, 404);
    await api.request("/api/v1/backends/eu-1", { method: "DELETE" });
    const gone = await api.request("/api/v1/heartbeat/eu-1", { method: "POST" });
    assert.equal(gone.status, 404);
    assert.match(gone.body.error, /register it again/);
    await api.store.upsertBackend({ id: "static", region: "sa", host: "10.0.0.9", port: 1, lastHeartbeatMs: null });
    const res = await api.request("/api/v1/heartbeat/static", { method: "POST" });
    assert.equal(res.status, 409);
    assert.equal(res.body.field, "id");
    assert.equal((await api.store.getBackend("static"))?.lastHeartbeatMs, null, "still static");
  });

  test("GET /api/v1/backends lists live rows (registered and static); GET by id shows one", async () => {
    await api.store.upsertBackend({ id: "static", region: "sa", host: "10.0.0.9", port: 1 });
    api.clock.now = T0 + 15_000;
    const list = await api.request("/api/v1/backends");
    assert.equal(list.status, 200);
    assert.equal(list.body.total, 2);
    const byId = Object.fromEntries(list.body.backends.map((b: { id: string }) => [b.id, b]));
    assert.equal(byId["eu-1"].registered, true);
    assert.equal(byId["eu-1"].expires_in_secs, 45);
    assert.equal(byId["eu-1"].ip, "10.0.0.1");
    assert.equal(byId.static.registered, false);
    assert.equal(byId.static.expires_in_secs, null);
    const one = await api.request("/api/v1/backends/eu-1");
    assert.equal(one.status, 200);
    assert.equal(one.body.port, 7000);
    assert.equal((await api.request("/api/v1/backends/nope")).status, 404);
  });

  test("DELETE soft-deletes (out of routing, row kept); a second DELETE or an unknown id is 404", async () => {
    const res = await api.request("/api/v1/backends/eu-1", { method: "DELETE" });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { id: "eu-1", deregistered: true });
    const row = await api.store.getBackend("eu-1");
    assert.equal(row?.deleted, true);
    assert.deepEqual((await api.store.readSnapshot()).snapshot.backends, []);
    assert.equal((await api.request("/api/v1/backends/eu-1", { method: "DELETE" })).status, 404);
    assert.equal((await api.request("/api/v1/backends/eu-1")).status, 404);
    const unknown = await api.request("/api/v1/backends/nope", { method: "DELETE" });
    assert.equal(unknown.status, 404);
    assert.deepEqual(Object.keys(unknown.body).sort(), ["error", "field"]);
  });

  test("ids are just text: quotes and SQL in an id change nothing else", async () => {
    const id = "x'; DROP TABLE backends;--";
    assert.equal((await api.request("/api/v1/register", { json: registration({ id }) })).status, 201);
    const one = await api.request(`/api/v1/backends/${encodeURIComponent(id)}`);
    assert.equal(one.body.id, id);
    assert.equal((await api.store.listBackends()).length, 2);
  });
});

describe("routes and methods", () => {
  let api: ApiFixture;
  beforeEach(() => { api = apiFixture(); });
  afterEach(() => api.close());

  for (const [method, path] of [["GET", "/"], ["GET", "/api/v1"], ["POST", "/api/v2/register"], ["GET", "/api/v1/backends/a/b"], ["GET", "/health/x"]]) {
    test(`404 JSON for ${method} ${path}`, async () => {
      const res = await api.request(path, { method });
      assert.equal(res.status, 404);
      assert.equal(res.body.field, "route");
      assert.equal(typeof res.body.error, "string");
    });
  }
  for (const [method, path, allow] of [["POST", "/health", "GET, HEAD"], ["GET", "/api/v1/register", "POST"], ["PUT", "/api/v1/backends/x", "GET, HEAD, DELETE"], ["GET", "/api/v1/heartbeat/x", "POST"], ["DELETE", "/api/v1/backends", "GET, HEAD"]]) {
    test(`405 JSON for ${method} ${path}`, async () => {
      const res = await api.request(path, { method });
      assert.equal(res.status, 405);
      assert.equal(res.headers.get("allow"), allow);
      assert.equal(res.body.field, "method");
    });
  }
  test("a malformed percent-encoding in an id is not a 5xx", async () => {
    const res = await api.request("/api/v1/backends/%E0%A4%A", { method: "GET" });
    assert.ok(res.status === 404 || res.status === 400, String(res.status));
  });
});

describe("EDGEPROXY_API_TOKEN", () => {
  let api: ApiFixture;
  beforeEach(() => { api = apiFixture({ token: TOKEN }); });
  afterEach(() => api.close());

  test("every mutating endpoint needs the bearer token; reads and /health stay open", async () => {
    const mutations: [string, RequestInit][] = [
      ["/api/v1/register", { method: "POST", body: JSON.stringify(registration()) }],
      ["/api/v1/heartbeat/eu-1", { method: "POST" }],
      ["/api/v1/backends/eu-1", { method: "DELETE" }],
    ];
    for (const [path, init] of mutations) {
      for (const authorization of [undefined, "Bearer wrong-token-0123456789", `Basic ${TOKEN}`, "Bearer", `Bearer ${TOKEN}x`]) {
        const res = await api.request(path, { ...init, headers: authorization ? { authorization } : {} });
        assert.equal(res.status, 401, `${path} with ${authorization}`);
        assert.equal(res.body.field, "authorization");
        assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer/);
      }
    }
    assert.deepEqual(await api.store.listBackends({ includeDeleted: true }), [], "nothing written without the token");
    const auth = { authorization: `Bearer ${TOKEN}` };
    assert.equal((await api.request("/api/v1/register", { method: "POST", body: JSON.stringify(registration()), headers: auth })).status, 201);
    assert.equal((await api.request("/api/v1/heartbeat/eu-1", { method: "POST", headers: auth })).status, 200);
    assert.equal((await api.request("/health")).status, 200);
    assert.equal((await api.request("/api/v1/backends")).status, 200);
    assert.equal((await api.request("/api/v1/backends/eu-1", { method: "DELETE", headers: auth })).status, 200);
  });
});

test("a store that cannot be used answers 503 JSON, not 500", async () => {
  const api = apiFixture();
  await api.store.close();
  try {
    const res = await api.request("/api/v1/register", { json: registration() });
    assert.equal(res.status, 503);
    assert.deepEqual(Object.keys(res.body).sort(), ["error", "field"]);
    assert.equal((await api.request("/api/v1/backends")).status, 503);
  } finally {
    await api.close();
  }
});

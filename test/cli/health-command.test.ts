// `edgeproxy health` (the container HEALTHCHECK): which listener it asks, and its exit codes against
// real listeners — 0 for a 200 or an accepted TCP connect, 1 for 503, refused or no answer in time,
// 2 for a bad argument or setting.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { loadConfig } from "../../src/config.ts";
import { healthTarget } from "../../src/cli/health-command.ts";
import { refusedPort } from "../fixtures/backends.ts";
import { runCli } from "./run-cli.ts";

const OFF = { EDGEPROXY_METRICS_ENABLED: "false", EDGEPROXY_API_ENABLED: "false" };

describe("healthTarget: metrics listener, else API, else a TCP connect to the proxy", () => {
  test("nothing enabled: TCP connect to EDGEPROXY_LISTEN_ADDR, a wildcard reached on loopback", () => {
    assert.deepEqual(healthTarget(loadConfig({})), { kind: "tcp", variable: "EDGEPROXY_LISTEN_ADDR", host: "127.0.0.1", port: 8080 });
    assert.deepEqual(healthTarget(loadConfig({ EDGEPROXY_LISTEN_ADDR: "[::]:7000" })), { kind: "tcp", variable: "EDGEPROXY_LISTEN_ADDR", host: "::1", port: 7000 });
    assert.deepEqual(healthTarget(loadConfig({ EDGEPROXY_LISTEN_ADDR: "10.0.0.5:7000" })), { kind: "tcp", variable: "EDGEPROXY_LISTEN_ADDR", host: "10.0.0.5", port: 7000 });
  });

  test("the API's /health when the API is on; the metrics listener's /health wins when both are", () => {
    const api = { EDGEPROXY_API_ENABLED: "true", EDGEPROXY_API_LISTEN_ADDR: "127.0.0.1:8181" };
    assert.deepEqual(healthTarget(loadConfig(api)), { kind: "http", variable: "EDGEPROXY_API_LISTEN_ADDR", url: "http://127.0.0.1:8181/health" });
    const both = { ...api, EDGEPROXY_METRICS_ENABLED: "true", EDGEPROXY_METRICS_LISTEN_ADDR: "[::]:9191" };
    assert.deepEqual(healthTarget(loadConfig(both)), { kind: "http", variable: "EDGEPROXY_METRICS_LISTEN_ADDR", url: "http://[::1]:9191/health" });
  });
});

describe("edgeproxy health against real listeners", () => {
  let status = 200;
  const web = http.createServer((req, res) => {
    if (req.url === "/hang") return; // never answers
    res.writeHead(req.url === "/health" ? status : 404, { "content-type": "application/json" });
    res.end(JSON.stringify({ status: status === 200 ? "ok" : "draining" }));
  });
  // Accepts and never answers HTTP: the timeout case.
  const silent = net.createServer(() => {});
  const held: net.Socket[] = [];
  silent.on("connection", (s) => held.push(s));
  let webPort = 0, silentPort = 0;

  before(async () => {
    await new Promise<void>((r) => web.listen(0, "127.0.0.1", () => r()));
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", () => r()));
    webPort = (web.address() as net.AddressInfo).port;
    silentPort = (silent.address() as net.AddressInfo).port;
  });
  after(async () => {
    for (const s of held) s.destroy();
    web.closeAllConnections();
    await new Promise<void>((r) => web.close(() => r()));
    await new Promise<void>((r) => silent.close(() => r()));
  });

  const metricsAt = (port: number) => ({ EDGEPROXY_METRICS_ENABLED: "true", EDGEPROXY_METRICS_LISTEN_ADDR: `127.0.0.1:${port}`, EDGEPROXY_API_ENABLED: "false" });

  test("200 from the metrics listener's /health: exit 0, says what it asked", async () => {
    status = 200;
    const r = await runCli(["health"], metricsAt(webPort));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^healthy: http://127\\.0\\.0\\.1:${webPort}/health \\(EDGEPROXY_METRICS_LISTEN_ADDR\\) answered 200`));
  });

  test("503 (draining): exit 1", async () => {
    status = 503;
    const r = await runCli(["health"], metricsAt(webPort));
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, /^unhealthy: .* answered 503 .*draining/);
    status = 200;
  });

  test("API listener when metrics are off", async () => {
    const r = await runCli(["health"], { EDGEPROXY_METRICS_ENABLED: "false", EDGEPROXY_API_ENABLED: "true", EDGEPROXY_API_LISTEN_ADDR: `127.0.0.1:${webPort}` });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\(EDGEPROXY_API_LISTEN_ADDR\) answered 200/);
  });

  test("no answer within --timeout: exit 1", async () => {
    const r = await runCli(["health", "--timeout", "0.5"], metricsAt(silentPort));
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, /^unhealthy: http:\/\/127\.0\.0\.1:\d+\/health/);
  });

  test("TCP connect to EDGEPROXY_LISTEN_ADDR when neither is enabled: accepted 0, refused 1", async () => {
    const up = await runCli(["health"], { ...OFF, EDGEPROXY_LISTEN_ADDR: `127.0.0.1:${silentPort}` });
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stdout, new RegExp(`^healthy: TCP connect to 127\\.0\\.0\\.1:${silentPort} \\(EDGEPROXY_LISTEN_ADDR\\)`));
    const down = await runCli(["health"], { ...OFF, EDGEPROXY_LISTEN_ADDR: `127.0.0.1:${await refusedPort()}` });
    assert.equal(down.code, 1, down.stdout);
    assert.match(down.stderr, /^unhealthy: TCP connect to 127\.0\.0\.1:\d+ \(EDGEPROXY_LISTEN_ADDR\): .*ECONNREFUSED/);
  });

  test("a bad setting or --timeout: exit 2 naming it", async () => {
    const bad = await runCli(["health"], { ...OFF, EDGEPROXY_LISTEN_ADDR: "nowhere" });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^error: EDGEPROXY_LISTEN_ADDR: /);
    const timeout = await runCli(["health", "--timeout", "soon"], OFF);
    assert.equal(timeout.code, 2);
    assert.match(timeout.stderr, /^error: --timeout: /);
  });
});

// The metrics listener's fetch handler (no port): exposition on the configured path, /health with
// draining, 404/405 otherwise.
import { test } from "node:test";
import assert from "node:assert/strict";
import { metricsFetch } from "../../src/metrics/metrics-server.ts";
import type { ProxyMetrics } from "../../src/metrics/metrics.ts";
import { healthReport, type HealthStatus } from "../../src/api/health-report.ts";

const fakeMetrics = { contentType: "text/plain; version=0.0.4; charset=utf-8", render: async () => "x 1\n" } as unknown as ProxyMetrics;

function handler(status: () => HealthStatus = () => "ok") {
  return metricsFetch("/prom", fakeMetrics, { status, routableBackends: () => 2, startedAtMs: 0, now: () => 5_500, version: "9.9.9" });
}

test("the configured path serves the exposition with Prometheus' content type", async () => {
  const res = await handler()(new Request("http://x/prom"));
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), fakeMetrics.contentType);
  assert.equal(await res.text(), "x 1\n");
});

test("/health is served beside it and says draining (503) during shutdown", async () => {
  let status: HealthStatus = "ok";
  const fetch = handler(() => status);
  let res = await fetch(new Request("http://x/health"));
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { status: "ok", version: "9.9.9", backends: 2, uptime_secs: 5 });
  status = "draining";
  res = await fetch(new Request("http://x/health"));
  assert.equal(res.status, 503);
  assert.equal((await res.json()).status, "draining");
});

test("other paths are 404, other methods 405", async () => {
  assert.equal((await handler()(new Request("http://x/metrics"))).status, 404);
  const res = await handler()(new Request("http://x/prom", { method: "POST" }));
  assert.equal(res.status, 405);
  assert.equal(res.headers.get("allow"), "GET, HEAD");
});

test("healthReport: uptime never negative", () => {
  const r = healthReport({ status: () => "ok", routableBackends: () => 0, startedAtMs: 10_000, now: () => 0, version: "v" });
  assert.equal(r.body.uptime_secs, 0);
  assert.equal(r.httpStatus, 200);
});

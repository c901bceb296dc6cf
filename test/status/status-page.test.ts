// The status page on the metrics listener's fetch handler (no port): document, assets and data with
// their headers, beside the exposition and /health; nothing from the store inside the HTML.
import { test } from "node:test";
import assert from "node:assert/strict";
import { metricsFetch } from "../../src/metrics/metrics-server.ts";
import type { ProxyMetrics } from "../../src/metrics/metrics.ts";
import { createStatusPage, STATUS_CSP } from "../../src/status/status-page.ts";
import { STATUS_JS } from "../../src/status/page/script.ts";
import type { StatusReport } from "../../src/status/status-report.ts";
import { backend, fakeSources } from "./status-fixture.ts";

const XSS_ID = "<img src=x onerror=alert(1)>";
const fakeMetrics = { contentType: "text/plain; version=0.0.4; charset=utf-8", render: async () => "x 1\n" } as unknown as ProxyMetrics;
const health = { status: () => "ok" as const, routableBackends: () => 1, startedAtMs: 0, now: () => 1_000, version: "9.9.9" };

function handler(sources = fakeSources([backend(XSS_ID, { app: "<b>app</b>" })], [1])) {
  return metricsFetch("/prom", fakeMetrics, health, createStatusPage(sources));
}
const get = (path: string, init?: RequestInit) => handler()(new Request(`http://x${path}`, init));

test("/ is the page: HTML for phones, a strict CSP, no inline script or style", async () => {
  const res = await get("/");
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
  assert.equal(res.headers.get("content-security-policy"), STATUS_CSP);
  assert.match(STATUS_CSP, /default-src 'none'/);
  assert.doesNotMatch(STATUS_CSP, /unsafe-inline|unsafe-eval/);
  assert.equal(res.headers.get("x-content-type-options"), "nosniff");
  const html = await res.text();
  assert.match(html, /<meta name="viewport" content="width=device-width, initial-scale=1">/);
  assert.match(html, /<script src="status\.js" defer><\/script>/);
  assert.match(html, /<link rel="stylesheet" href="status\.css">/);
  assert.doesNotMatch(html, /<script>|<style>| style="| on[a-z]+="/, "no inline code for the CSP to allow");
  assert.ok(!html.includes("img src=x"), "the page carries no data from the store");
});

test("the script and stylesheet are served with their types", async () => {
  const js = await get("/status.js");
  assert.equal(js.headers.get("content-type"), "text/javascript; charset=utf-8");
  assert.equal(await js.text(), STATUS_JS);
  const css = await get("/status.css");
  assert.equal(css.headers.get("content-type"), "text/css; charset=utf-8");
  assert.match(await css.text(), /@media \(max-width: 700px\)/);
});

test("the script parses and never turns data into markup", () => {
  assert.doesNotThrow(() => new Function(STATUS_JS));
  assert.doesNotMatch(STATUS_JS, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function/);
  assert.match(STATUS_JS, /fetch\("status\.json"/);
});

test("/status.json is the data, not cached; the id travels as JSON text", async () => {
  const res = await get("/status.json");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
  assert.equal(res.headers.get("cache-control"), "no-store");
  const body = await res.json() as StatusReport;
  assert.equal(body.backends[0]!.id, XSS_ID);
  assert.equal(body.backends[0]!.app, "<b>app</b>");
  assert.equal(body.backends[0]!.active, 1);
  assert.equal(body.cluster.replication, "off");
});

test("the exposition, /health, 404 and 405 are unchanged beside the page", async () => {
  assert.equal(await (await get("/prom")).text(), "x 1\n");
  assert.equal((await (await get("/health")).json()).status, "ok");
  assert.equal((await get("/index.html")).status, 404);
  assert.equal((await get("/metrics")).status, 404);
  const post = await get("/status.json", { method: "POST" });
  assert.equal(post.status, 405);
  assert.equal(post.headers.get("allow"), "GET, HEAD");
  assert.equal((await get("/", { method: "HEAD" })).status, 200);
});

test("without a status page, / is 404 as before", async () => {
  const fetch = metricsFetch("/prom", fakeMetrics, health);
  assert.equal((await fetch(new Request("http://x/"))).status, 404);
  assert.equal((await fetch(new Request("http://x/status.json"))).status, 404);
});

test("a source that throws answers 500, the listener keeps serving", async () => {
  const fetch = handler(fakeSources([backend("a")], [], { totals: () => { throw new Error("boom"); } }));
  const res = await fetch(new Request("http://x/status.json"));
  assert.equal(res.status, 500);
  assert.match(await res.text(), /status collection failed: boom/);
  assert.equal((await fetch(new Request("http://x/"))).status, 200);
});

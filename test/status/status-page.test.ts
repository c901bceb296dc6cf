// The status page on the metrics listener's fetch handler (no port): document, assets and data with
// their headers, beside the exposition and /health; nothing from the store inside the HTML; the
// replication rows as the page's script renders them (in a fake DOM that only takes text).
import { test } from "node:test";
import assert from "node:assert/strict";
import { metricsFetch } from "../../src/metrics/metrics-server.ts";
import type { ProxyMetrics } from "../../src/metrics/metrics.ts";
import { createStatusPage, STATUS_CSP } from "../../src/status/status-page.ts";
import { STATUS_JS } from "../../src/status/page/script.ts";
import type { StatusReport } from "../../src/status/status-report.ts";
import { backend, fakeSources } from "./status-fixture.ts";
import { fakeDocument, renderOnce } from "./fake-dom.ts";
import { clusterStatus } from "../../src/core/cluster-view.ts";
import { statusPageCluster } from "../../src/replication/status-page-view.ts";

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

test("replication's POP rows render as text: id, region, link, last seen, lag, outbox; markup from the bucket stays text", async () => {
  const MARKUP_POP = "<img src=x onerror=alert(2)>";
  const presence = (id: string, lagMs: number, outbox: number, intervalMs = 1000) => ({ id, region: "eu", outbox, lag_ms: lagMs, applied_revision: 7, interval_ms: intervalMs });
  const view = clusterStatus("pop-a", { value: { ...presence("pop-a", 12, 0), region: "sa" }, linkUp: true }, [
    { value: presence("pop-b", 1500, 3), seenMs: 98_000 },
    { value: presence(MARKUP_POP, 0, 0), seenMs: 10_000 },
  ], 100_000);
  const stats = { connected: true, lagSeconds: 0.012, outbox: 0, published: 5, applied: 9, conflicts: 1 };
  const sources = fakeSources([backend("a")], [], { cluster: () => statusPageCluster(view, stats) });
  const report = await (await handler(sources)(new Request("http://x/status.json"))).json() as StatusReport;
  const doc = fakeDocument(["backends", "pops"]);
  await renderOnce(STATUS_JS, doc, report);
  assert.equal(doc.getElementById("replication").textContent, "connected");
  const pops = doc.getElementById("pops");
  assert.equal(pops.hidden, false);
  const rows = pops.tBodies[0]!.elements.map((tr) => tr.elements.map((td) => td.textContent));
  assert.deepEqual(rows, [
    [MARKUP_POP, "eu", "down", "1m 30s ago", "0 ms", "0"],
    ["pop-a (this POP)", "sa", "up", "0s ago", "12 ms", "0"],
    ["pop-b", "eu", "up", "2s ago", "1.5 s", "3"],
  ]);
  const markupCell = pops.tBodies[0]!.elements[0]!.elements[0]!;
  assert.deepEqual(markupCell.children, [MARKUP_POP], "one text node, no element made from it");
  const detail = doc.getElementById("cluster-detail").elements.map((e) => e.textContent);
  assert.deepEqual(detail, ["outbox", "0", "lag (s)", "0.012", "published", "5", "applied", "9", "conflicts", "1"]);
});

test("/status.json keys are snake_case everywhere (pop, totals, backends, cluster rows and detail); the POP's id is in pop", async () => {
  const view = clusterStatus("pop-a", { value: { id: "pop-a", region: "sa", outbox: 0, lag_ms: 12, applied_revision: 7, interval_ms: 1000 }, linkUp: true }, [
    { value: { id: "pop-b", region: "eu", outbox: 3, lag_ms: 1500, applied_revision: 7, interval_ms: 1000 }, seenMs: 98_000 },
  ], 100_000);
  const stats = { connected: true, lagSeconds: 0.012, outbox: 0, published: 5, applied: 9, conflicts: 1 };
  const sources = fakeSources([backend("a")], [], { cluster: () => statusPageCluster(view, stats), backendTally: () => ({ connections: 1, errors: 0 }) });
  const report = await (await handler(sources)(new Request("http://x/status.json"))).json() as StatusReport;
  const keys: string[] = [];
  const walk = (v: unknown, path: string) => {
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}[${i}]`));
    else if (v !== null && typeof v === "object") for (const [k, x] of Object.entries(v)) { keys.push(`${path}.${k}`); walk(x, `${path}.${k}`); }
  };
  walk(report, "");
  assert.ok(keys.includes(".cluster.pops[1].last_seen_secs_ago") && keys.includes(".cluster.detail.lag_secs"), keys.join(" "));
  assert.deepEqual(keys.filter((k) => !/^[a-z][a-z0-9_]*$/.test(k.slice(k.lastIndexOf(".") + 1))), []);
  assert.equal(report.pop.id, "pop-sa-1");
  const doc = fakeDocument(["backends", "pops"]);
  await renderOnce(STATUS_JS, doc, report);
  assert.match(doc.getElementById("pop-meta").textContent, /^pop-sa-1 · node · v1\.2\.3/);
});

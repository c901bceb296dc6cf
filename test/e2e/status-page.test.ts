// The status page of a real proxy process, in a real browser (Debian's chromium via playwright-core):
// the page loads, a backend added with the CLI appears, its active count follows connections held
// through the proxy, an id made of markup shows as text, and screenshots are taken at a phone and a
// desktop width, side by side in status-page.png (into STATUS_SCREENSHOT_DIR when set:
// `STATUS_SCREENSHOT_DIR=docs` refreshes the README's; otherwise a temporary directory).
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import type { Page } from "playwright-core";
import { startBackend, refusedPort, type TestBackend } from "../fixtures/backends.ts";
import { createRoutingDb, tempDir, type RoutingDb } from "../fixtures/routing-db.ts";
import { startProxy, type ProxyProcess } from "../fixtures/proxy-process.ts";
import { browserMissing, launchBrowser, type Browser } from "../fixtures/browser.ts";
import { runCli } from "../cli/run-cli.ts";

const XSS_ID = "<img src=x onerror=alert(1)>";
const skip = browserMissing() ?? false;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Row { id: string; active: string; text: string; circuit: string; check: string }
// Browser-side code as strings: a function would be serialised with whatever helpers the runtime's
// TypeScript transform added to it (tsx's __name), which do not exist in the page.
const ROWS = `Array.from(document.querySelectorAll("#backends tbody tr")).map((tr) => ({
  id: tr.getAttribute("data-backend-id"), active: tr.querySelector(".active-count").textContent,
  text: tr.querySelector(".id").textContent, circuit: tr.cells[5].textContent, check: tr.cells[6].textContent }))`;
const TOTAL = (name: string) => `document.querySelector('[data-total="${name}"] dd')?.textContent ?? null`;

async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 30_000): Promise<T> {
  let last: T | undefined;
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(100)) {
    last = await read();
    if (ok(last)) return last;
  }
  assert.fail(`${what} not seen within ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
}

/** Opens a connection through the proxy and resolves once the backend's greeting arrived. */
function hold(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: "127.0.0.1" });
    socket.once("data", () => resolve(socket));
    socket.once("error", reject);
  });
}

/** A screenshot of the page at one viewport size (a phone's is the top of the page). */
async function shoot(page: Page, width: number, height: number): Promise<Buffer> {
  await page.setViewportSize({ width, height });
  await page.evaluate(`new Promise((r) => requestAnimationFrame(() => setTimeout(r, 400)))`); // bar transitions
  const png = await page.screenshot({ fullPage: width > 600 });
  assert.ok(png.length > 10_000, `a ${width}px screenshot: ${png.length} bytes`);
  return png;
}

describe("status page in a real browser", { skip }, () => {
  let a: TestBackend, b: TestBackend;
  let db: RoutingDb;
  let proxy: ProxyProcess;
  let browser: Browser;
  let page: Page;
  let base: string;
  const shots = process.env.STATUS_SCREENSHOT_DIR ? { dir: process.env.STATUS_SCREENSHOT_DIR, remove() {} } : tempDir("edgeproxy-shots-");
  const dialogs: string[] = [];
  const cspViolations: string[] = [];
  const rows = () => page.evaluate(ROWS) as Promise<Row[]>;
  const rowOf = async (id: string) => (await rows()).find((r) => r.id === id);
  const cli = (...args: string[]) => runCli(["--db", db.path, ...args]);

  before(async () => {
    [a, b] = await Promise.all([startBackend("sa-node-1"), startBackend("us-node-1")]);
    db = await createRoutingDb();
    proxy = await startProxy({
      EDGEPROXY_DB_PATH: db.path, EDGEPROXY_DB_RELOAD_SECS: "1", EDGEPROXY_REGION: "sa",
      EDGEPROXY_METRICS_ENABLED: "true", EDGEPROXY_METRICS_LISTEN_ADDR: "127.0.0.1:0",
      EDGEPROXY_HEALTH_CHECK_ENABLED: "true", EDGEPROXY_HEALTH_CHECK_INTERVAL_SECS: "1", EDGEPROXY_HEALTH_CHECK_TIMEOUT_SECS: "1",
      EDGEPROXY_HEALTH_UNHEALTHY_THRESHOLD: "1",
      EDGEPROXY_CIRCUIT_BREAKER_ENABLED: "true",
    });
    base = `http://${String((await proxy.waitForLog("edgeProxy metrics listening")).addr)}`;
    browser = await launchBrowser();
    page = await browser.context.newPage();
    page.on("dialog", (d) => { dialogs.push(d.message()); void d.dismiss(); });
    page.on("console", (m) => { if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text()); });
    mkdirSync(shots.dir, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    const code = await proxy?.stop();
    db?.close();
    await Promise.all([a?.close(), b?.close()]);
    shots.remove();
    assert.equal(code, 0);
  });

  test("the page loads from the metrics listener and goes live with no backend yet", async () => {
    const res = await page.goto(`${base}/`);
    assert.equal(res?.status(), 200);
    await until("the live marker", () => page.evaluate(`document.getElementById("live").className`), (c) => c === "live on");
    assert.equal(await page.evaluate(`document.getElementById("no-backends").hidden`), false);
    assert.equal(await page.evaluate(`document.getElementById("pop-region").textContent`), "sa");
    assert.equal(await page.evaluate(`document.getElementById("replication").textContent`), "off");
  });

  test("backends added with the CLI appear, with their limits, circuit and health check", async () => {
    for (const args of [
      ["node", "add", "sa-node-1", "sa", "127.0.0.1", String(a.port), "2", "--country", "BR", "--soft", "3", "--hard", "5"],
      ["node", "add", "us-node-1", "us", "127.0.0.1", String(b.port), "--country", "US", "--soft", "50", "--hard", "80"],
      ["node", "add", XSS_ID, "eu", "127.0.0.1", String(await refusedPort()), "--app", "<b>markup</b>", "--country", "DE"],
    ]) {
      const r = await cli(...args);
      assert.equal(r.code, 0, r.stderr);
    }
    const seen = await until("three backends, health checked", rows, (list) => list.length === 3 && list.every((r) => r.check !== "pending"));
    const sa = seen.find((r) => r.id === "sa-node-1")!;
    assert.deepEqual([sa.text, sa.active, sa.circuit, sa.check], ["sa-node-1", "0", "closed", "up"]);
    assert.equal(seen.find((r) => r.id === XSS_ID)!.check, "down", "nothing listens there");
    const limits = await page.evaluate(`document.querySelector("tr[data-backend-id='sa-node-1'] .limits").textContent`);
    assert.equal(limits, " / soft 3 / hard 5");
  });

  test("the active count follows connections held through the proxy", async () => {
    const held = await Promise.all([1, 2, 3, 4].map(() => hold(proxy.port)));
    try {
      await until("4 active on sa-node-1", () => rowOf("sa-node-1"), (r) => r?.active === "4");
      assert.equal(await until("4 active in the totals", () => page.evaluate(TOTAL("active")), (t) => t === "4"), "4");
      assert.equal(await page.evaluate(`document.querySelector("tr[data-backend-id='sa-node-1'] .fill").className`), "fill warn", "above the soft limit");
      // Wait for a connections-per-second figure, then take the screenshots with the connections held.
      await until("a connection rate", () => page.evaluate(TOTAL("cps")), (t) => t !== null && t !== "–");
      const desktop = await shoot(page, 1280, 720), phone = await shoot(page, 390, 844);
      await page.setViewportSize({ width: 1280, height: 720 });
      // Both side by side in one picture (the README's), made by the same browser.
      const sheet = await browser.context.newPage();
      await sheet.setViewportSize({ width: 1280, height: 600 });
      await sheet.setContent(`<body style="margin:0;padding:16px;background:#d0d7de;display:flex;gap:16px;align-items:flex-start">
        <img style="width:880px;box-shadow:0 2px 8px #0004" src="data:image/png;base64,${desktop.toString("base64")}">
        <img style="width:352px;box-shadow:0 2px 8px #0004" src="data:image/png;base64,${phone.toString("base64")}"></body>`);
      const path = join(shots.dir, "status-page.png");
      await sheet.screenshot({ path, fullPage: true });
      await sheet.close();
      const png = readFileSync(path);
      assert.deepEqual([...png.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47], "a PNG");
      assert.ok(png.length > 20_000, `${path}: ${png.length} bytes`);
    } finally {
      for (const s of held) s.destroy();
    }
    await until("0 active on sa-node-1", () => rowOf("sa-node-1"), (r) => r?.active === "0");
  });

  test("an id made of markup shows as text and runs nothing", async () => {
    const row = await rowOf(XSS_ID);
    assert.equal(row?.text, XSS_ID);
    assert.equal(await page.evaluate(`document.querySelectorAll("img, b").length`), 0, "no element made from store data");
    assert.equal(await page.evaluate(`document.querySelector("#backends tbody").textContent.includes("<b>markup</b>")`), true);
    assert.deepEqual(dialogs, []);
    assert.deepEqual(cspViolations, [], "the page keeps to its own CSP");
  });

  test("a backend removed with the CLI leaves the page", async () => {
    const r = await cli("node", "delete", "us-node-1");
    assert.equal(r.code, 0, r.stderr);
    await until("us-node-1 gone", rows, (list) => list.length === 2 && !list.some((x) => x.id === "us-node-1"));
  });
});

if (skip) test(String(skip), { skip: true }, () => {});

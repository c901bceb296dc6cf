// End to end through the real proxy process: geo tiers, affinity, weights, hard limit, failover.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { startBackend, whoAnswers, holdConnection, refusedPort, type TestBackend } from "../fixtures/backends.ts";
import { createRoutingDb, type RoutingDb } from "../fixtures/routing-db.ts";
import { startProxy, type ProxyProcess } from "../fixtures/proxy-process.ts";
import { writeMmdb } from "../fixtures/mmdb-writer.ts";
import { countedConnections, METRICS_ON, metricsUrlOf } from "../fixtures/proxy-metrics.ts";

/** Source address 127.0.<net>.<host>: the geo database below maps each /24 to a country. */
const from = (net: number, host = 10) => `127.0.${net}.${host}`;
const NET = { BR: 1, AR: 2, DE: 3, JP: 4, NONE: 9 } as const;

function geoDb(dir: string): string {
  const path = join(dir, "geo.mmdb");
  writeFileSync(path, writeMmdb({
    databaseType: "GeoLite2-Country",
    networks: [
      { cidr: "127.0.1.0/24", country: "BR" },
      { cidr: "127.0.2.0/24", country: "AR" },
      { cidr: "127.0.3.0/24", country: "DE" },
      { cidr: "127.0.4.0/24", country: "JP" },
      ...Array.from({ length: 16 }, (_, i) => ({ cidr: `127.0.${20 + i}.0/24`, country: "CL" })),
    ],
  }));
  return path;
}

async function countAnswers(port: number, sources: string[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const batch = 10; // bounded concurrency: short connections, not a flood (few overlap, so the split is the weights' tie-break, not load)
  for (let i = 0; i < sources.length; i += batch) {
    const ids = await Promise.all(sources.slice(i, i + batch).map((s) => whoAnswers(port, s)));
    for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

describe("geo tiers (POP region us)", () => {
  let backends: Record<string, TestBackend>;
  let db: RoutingDb;
  let proxy: ProxyProcess;

  before(async () => {
    backends = {
      br: await startBackend("br"), // country BR, region sa
      eu: await startBackend("eu"), // country FR, region eu
      us: await startBackend("us"), // country US, region us (this POP's region)
    };
    db = await createRoutingDb([
      { id: "br", region: "sa", country: "BR", port: backends.br!.port },
      { id: "eu", region: "eu", country: "FR", port: backends.eu!.port },
      { id: "us", region: "us", country: "US", port: backends.us!.port },
    ]);
    proxy = await startProxy({
      EDGEPROXY_DB_PATH: db.path, EDGEPROXY_REGION: "us", EDGEPROXY_GEOIP_PATH: geoDb(db.dir), EDGEPROXY_DB_RELOAD_SECS: "1",
    });
  });
  after(async () => {
    await proxy?.stop();
    db?.close();
    await Promise.all(Object.values(backends ?? {}).map((b) => b.close()));
  });

  test("tier 0: same country", async () => {
    assert.equal(await whoAnswers(proxy.port, from(NET.BR)), "br");
  });
  test("tier 1: same region, other country", async () => {
    assert.equal(await whoAnswers(proxy.port, from(NET.AR)), "br");
    assert.equal(await whoAnswers(proxy.port, from(NET.DE)), "eu");
  });
  test("tier 2: this POP's region when the client's region has no backend", async () => {
    assert.equal(await whoAnswers(proxy.port, from(NET.JP)), "us");
  });
  test("a client the geo database does not know goes to this POP's region", async () => {
    assert.equal(await whoAnswers(proxy.port, from(NET.NONE)), "us");
  });
  test("tier 3: anything else once nothing nearer is left", async () => {
    const applied = proxy.nextLog("routes applied");
    db.exec("UPDATE backends SET healthy = 0 WHERE id = 'us'");
    await applied;
    const seen = new Set<string>();
    for (let h = 20; h < 40; h++) seen.add(await whoAnswers(proxy.port, from(NET.JP, h)));
    assert.ok([...seen].every((id) => id === "br" || id === "eu"), [...seen].join(","));
  });
});

describe("affinity, weights, limits, failover", () => {
  const closers: (() => unknown)[] = [];
  after(async () => { for (const c of closers.reverse()) await c(); });

  async function setup(rows: (b: Record<string, TestBackend>) => Parameters<typeof createRoutingDb>[0], ids: string[], env: Record<string, string> = {}) {
    const backends: Record<string, TestBackend> = {};
    for (const id of ids) {
      backends[id] = await startBackend(id);
      closers.push(() => backends[id]!.close());
    }
    const db = await createRoutingDb(rows(backends));
    closers.push(() => db.close());
    const proxy = await startProxy({ EDGEPROXY_DB_PATH: db.path, EDGEPROXY_REGION: "sa", EDGEPROXY_DB_RELOAD_SECS: "1", EDGEPROXY_GEOIP_PATH: geoDb(db.dir), ...env });
    closers.push(() => proxy.stop());
    return { backends, db, proxy };
  }

  // That a binding expires after its TTL (sliding), and not before, is logic: tested on fake time in
  // test/composition/edge-proxy.test.ts. The default TTL (600 s) keeps these rounds far from it.
  test("a client sticks to its backend", async () => {
    const { proxy } = await setup((b) => [
      { id: "a", region: "sa", port: b.a!.port },
      { id: "b", region: "sa", port: b.b!.port },
    ], ["a", "b"]);
    const clients = Array.from({ length: 40 }, (_, i) => from(50, i + 1));
    const first = await Promise.all(clients.map((c) => whoAnswers(proxy.port, c)));
    assert.ok(first.includes("a") && first.includes("b"), "equal weights spread the clients");
    for (let round = 0; round < 4; round++) {
      assert.deepEqual(await Promise.all(clients.map((c) => whoAnswers(proxy.port, c))), first, `round ${round}`);
    }
  });

  test("a bound client is rebound when its backend stops being a candidate", async () => {
    const { proxy, db } = await setup((b) => [
      { id: "a", region: "sa", port: b.a!.port },
      { id: "b", region: "sa", port: b.b!.port },
    ], ["a", "b"]);
    const client = from(51, 7);
    const bound = await whoAnswers(proxy.port, client);
    const other = bound === "a" ? "b" : "a";
    let applied = proxy.nextLog("routes applied");
    db.exec("UPDATE backends SET healthy = 0 WHERE id = ?", bound);
    await applied;
    assert.equal(await whoAnswers(proxy.port, client), other);
    applied = proxy.nextLog("routes applied");
    db.exec("UPDATE backends SET healthy = 1 WHERE id = ?", bound);
    await applied;
    assert.equal(await whoAnswers(proxy.port, client), other, "the new binding sticks");
  });

  test("weights 3:1 split 2,000 short connections 75% ± 5%", async () => {
    const { proxy } = await setup((b) => [
      { id: "heavy", region: "sa", country: "CL", port: b.heavy!.port, weight: 3 },
      { id: "light", region: "sa", country: "CL", port: b.light!.port, weight: 1 },
    ], ["heavy", "light"]);
    // 2,000 distinct clients (127.0.20.0/24 … 127.0.35.0/24 are all CL), so affinity plays no part.
    const sources: string[] = [];
    for (let n = 20; sources.length < 2000; n++) for (let h = 1; h <= 250 && sources.length < 2000; h++) sources.push(from(n, h));
    const counts = await countAnswers(proxy.port, sources);
    const share = (counts.get("heavy") ?? 0) / 2000;
    assert.equal((counts.get("heavy") ?? 0) + (counts.get("light") ?? 0), 2000, JSON.stringify([...counts]));
    assert.ok(share >= 0.70 && share <= 0.80, `heavy share ${share}`);
  });

  test("the hard limit holds under 200 concurrent connections", async () => {
    const { proxy, backends } = await setup((b) => [
      { id: "near", region: "sa", country: "BR", port: b.near!.port, soft_limit: 10, hard_limit: 50 },
      { id: "far", region: "eu", country: "FR", port: b.far!.port, soft_limit: 1000, hard_limit: 1000 },
    ], ["near", "far"]);
    let peak = 0;
    const sampler = setInterval(() => { peak = Math.max(peak, backends.near!.open); }, 1);
    const held = await Promise.all(Array.from({ length: 200 }, (_, i) => holdConnection(proxy.port, from(NET.BR, i + 1))));
    clearInterval(sampler);
    peak = Math.max(peak, backends.near!.open);
    const near = held.filter((h) => h.id === "near").length;
    assert.equal(near, 50, "the nearest backend fills exactly to its hard limit");
    assert.equal(held.filter((h) => h.id === "far").length, 150);
    assert.ok(peak <= 50, `peak ${peak} open on a backend whose hard limit is 50`);
    for (const h of held) h.socket.destroy();
  });

  test("a client is closed cleanly when every backend is at its hard limit", async () => {
    const { proxy, backends } = await setup((b) => [{ id: "only", region: "sa", port: b.only!.port, soft_limit: 2, hard_limit: 3 }], ["only"], METRICS_ON);
    const metricsUrl = await metricsUrlOf(proxy);
    const counted = () => countedConnections(metricsUrl, "only");
    const held = await Promise.all(Array.from({ length: 3 }, (_, i) => holdConnection(proxy.port, from(52, i + 1))));
    assert.deepEqual(held.map((h) => h.id), ["only", "only", "only"]);
    assert.equal(await whoAnswers(proxy.port, from(52, 9)), "", "closed without a backend");
    held[0]!.socket.destroy();
    // The proxy closes the backend side once it saw the client go.
    for (let i = 0; i < 500 && backends.only!.open > 2; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(backends.only!.open, 2, "the backend side of the released connection was closed");
    // The slot is free once the proxy read the backend's FIN too, which may come after the backend
    // counted its side closed: wait for the proxy's own count, the one its selection reads.
    for (let i = 0; i < 500 && (await counted()) !== 2; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(await counted(), 2, "the proxy released the slot");
    assert.equal(await whoAnswers(proxy.port, from(52, 9)), "only", "a released slot is usable again");
    for (const h of held) h.socket.destroy();
  });

  test("a refusing backend fails over to the next best", async () => {
    const dead = await refusedPort();
    const { proxy } = await setup((b) => [
      { id: "dead", region: "sa", country: "BR", port: dead },
      { id: "alive", region: "eu", country: "FR", port: b.alive!.port },
    ], ["alive"]);
    for (let i = 0; i < 5; i++) assert.equal(await whoAnswers(proxy.port, from(NET.BR, 100 + i)), "alive");
    await proxy.waitForLog("backend connect failed");
  });
});

// The accept gate: a refused client is closed at once, counted, and never routed; the settings getter
// is read on every connection (a reload applies to the next one).
import { test } from "node:test";
import assert from "node:assert/strict";
import type { ClientSocket, Transport } from "../../src/runtime/types.ts";
import type { RateLimitSettings } from "../../src/core/token-bucket.ts";
import { ReferenceEngine } from "../../src/core/reference-engine.ts";
import { TokenBucketReference } from "../../src/core/token-bucket.ts";
import { RouteTable } from "../../src/core/route-table.ts";
import { AffinityReference } from "../../src/core/affinity.ts";
import { Router } from "../../src/proxy/router.ts";
import { createClientHandler } from "../../src/proxy/handle-client.ts";
import { createRateGate } from "../../src/proxy/rate-gate.ts";
import { silentLogger } from "../../src/lifecycle/log.ts";

function fakeClient(ip: string): ClientSocket & { closedByProxy: boolean } {
  const client = {
    remoteAddress: ip, remotePort: 40_000, localAddress: "127.0.0.1", localPort: 8080, closed: new Promise<void>(() => {}), closedByProxy: false,
    peekEarly: () => Promise.resolve(new Uint8Array(0)), skipEarly() {},
    close() { client.closedByProxy = true; },
  };
  return client;
}

test("refused clients are closed at once and counted; allowed ones are routed", async () => {
  let connects = 0;
  const transport = { runtime: "node", connect: async () => { connects++; throw new Error("connect ECONNREFUSED"); } } as unknown as Transport;
  const engine = new ReferenceEngine(4);
  const table = new RouteTable(engine, "sa");
  table.apply({ generation: "1", backends: [{ id: "a", app: "t", region: "sa", country: null, host: "127.0.0.1", port: 9, healthy: true, weight: 1, softLimit: 10, hardLimit: 20, version: 1 }] });
  const router = new Router(engine, table, new AffinityReference(engine, 1000, 10), { locate: () => ({ country: null, region: null }) });
  let settings: RateLimitSettings = { enabled: true, burst: 2, maxRequests: 1, windowMs: 60_000 };
  const handler = createClientHandler({
    transport, router, log: silentLogger, now: () => 1_000,
    policy: () => ({ connectTimeoutMs: 100, connectAttempts: 1, idleTimeoutMs: 0 }),
    rateGate: createRateGate(new TokenBucketReference(), () => settings),
  });
  const clients = Array.from({ length: 5 }, () => fakeClient("192.0.2.1"));
  for (const c of clients) handler(c);
  assert.deepEqual(clients.map((c) => c.closedByProxy), [false, false, true, true, true], "refused ones are closed synchronously");
  assert.equal(handler.counters.rateLimited, 3);
  assert.equal(handler.counters.accepted, 2, "refused connections are not counted as accepted");
  // Every admitted client has run its course (connect refused, closed): nothing else is under way.
  for (let turns = 0; handler.counters.active > 0 && turns < 100; turns++) await new Promise((r) => setTimeout(r, 0));
  assert.equal(handler.counters.active, 0);
  assert.equal(connects, 2, "only allowed clients reach the connect step");

  settings = { ...settings, enabled: false };
  const later = fakeClient("192.0.2.1");
  handler(later);
  assert.equal(later.closedByProxy, false, "switched off by a reload: let in");
  assert.equal(handler.counters.rateLimited, 3);
});

// Clients closed unserved leave a trace at the default level (warn/info), at most one line per reason
// per second, with the count of the ones suppressed in between. Fake time throughout.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { ClientSocket, Transport } from "../../src/runtime/types.ts";
import type { Logger } from "../../src/core/logger.ts";
import { LogRateLimit } from "../../src/core/log-rate-limit.ts";
import { ReferenceEngine } from "../../src/core/reference-engine.ts";
import { RouteTable } from "../../src/core/route-table.ts";
import { AffinityReference } from "../../src/core/affinity.ts";
import { CidrSet } from "../../src/core/proxy-protocol/cidr.ts";
import { Router } from "../../src/proxy/router.ts";
import { createClientHandler } from "../../src/proxy/handle-client.ts";
import { gateProxyHeaders } from "../../src/proxy/proxy-header-gate.ts";
import { ProxyHeaderStats } from "../../src/proxy/proxy-header-stats.ts";
import { RefusalLog } from "../../src/proxy/refusal-log.ts";

interface Line { level: string; msg: string; fields: Record<string, unknown> }

function recordingLogger(): Logger & { lines: Line[] } {
  const lines: Line[] = [];
  const at = (level: string) => (msg: string, fields: Record<string, unknown> = {}) => { lines.push({ level, msg, fields }); };
  return { lines, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

function fakeClient(ip: string, early = new Uint8Array(0)): ClientSocket & { closedByProxy: boolean } {
  const client = {
    remoteAddress: ip, remotePort: 40_000, localAddress: "127.0.0.1", localPort: 8080, closed: new Promise<void>(() => {}), closedByProxy: false,
    peekEarly: () => Promise.resolve(early), skipEarly() {},
    close() { client.closedByProxy = true; },
  };
  return client;
}

const until = async (check: () => boolean) => {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 2));
  assert.ok(check());
};

test("the limiter lets one line per reason per interval through, then reports how many it held back", () => {
  const limit = new LogRateLimit(1000);
  assert.equal(limit.admit("no backend", 10_000), 0);
  assert.equal(limit.admit("no backend", 10_001), null);
  assert.equal(limit.admit("no backend", 10_999), null);
  assert.equal(limit.admit("timeout", 10_500), 0, "reasons are limited apart");
  assert.equal(limit.admit("no backend", 11_000), 2);
  assert.equal(limit.admit("no backend", 11_500), null);
  assert.equal(limit.admit("no backend", 20_000), 1);
  assert.equal(limit.admit("no backend", 30_000), 0);
});

test("a client closed because no backend could take it is logged at warn, rate-limited", async () => {
  let nowMs = 50_000;
  const log = recordingLogger();
  const engine = new ReferenceEngine(4);
  const table = new RouteTable(engine, "sa"); // no backends at all
  const router = new Router(engine, table, new AffinityReference(engine, 1000, 10), { locate: () => ({ country: null, region: null }) });
  const handler = createClientHandler({
    transport: { runtime: "node" } as unknown as Transport, router, log, now: () => nowMs,
    policy: () => ({ connectTimeoutMs: 100, connectAttempts: 1, idleTimeoutMs: 0 }),
  });
  const burst = Array.from({ length: 5 }, (_, i) => fakeClient(`192.0.2.${i + 1}`));
  for (const c of burst) handler(c);
  await until(() => burst.every((c) => c.closedByProxy));
  const warned = () => log.lines.filter((l) => l.level === "warn" && l.msg.startsWith("no backend available"));
  assert.equal(warned().length, 1);
  assert.deepEqual(warned()[0]!.fields, { client: "192.0.2.1", suppressed: 0 });

  nowMs += 1000;
  const next = fakeClient("192.0.2.9");
  handler(next);
  await until(() => next.closedByProxy);
  assert.equal(warned().length, 2);
  assert.deepEqual(warned()[1]!.fields, { client: "192.0.2.9", suppressed: 4 });
  assert.equal(handler.counters.noBackend, 6);
});

test("refused PROXY headers are logged (warn when malformed, info on timeout), one line per reason per second", async () => {
  let nowMs = 0;
  const log = recordingLogger();
  const stats = new ProxyHeaderStats();
  let handled = 0;
  const handler = Object.assign(() => { handled++; }, { counters: {}, inFlight: new Set() }) as unknown as Parameters<typeof gateProxyHeaders>[0];
  const gate = gateProxyHeaders(handler, { trusted: CidrSet.parse("10.0.0.0/8"), timeoutMs: 20, stats, log, refusals: new RefusalLog(log, () => nowMs) });
  const garbage = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  const malformed = Array.from({ length: 3 }, () => fakeClient("10.0.0.5", garbage));
  for (const c of malformed) gate(c);
  await until(() => malformed.every((c) => c.closedByProxy));
  const silent: ClientSocket & { closedByProxy: boolean } = { ...fakeClient("10.0.0.6"), peekEarly: () => new Promise(() => {}) };
  silent.close = () => { silent.closedByProxy = true; };
  gate(silent);
  await until(() => silent.closedByProxy);
  assert.equal(handled, 0);
  assert.deepEqual(log.lines.map((l) => [l.level, l.msg, l.fields.reason, l.fields.suppressed]), [
    ["warn", "PROXY header refused: client closed", "malformed", 0],
    ["info", "PROXY header refused: client closed", "timeout", 0],
  ]);
  nowMs = 1000;
  const later = fakeClient("10.0.0.7", garbage);
  gate(later);
  await until(() => later.closedByProxy);
  assert.deepEqual(log.lines.at(-1)!.fields, { peer: "10.0.0.7", reason: "malformed", suppressed: 2 });
  assert.equal(stats.rejected("malformed"), 4, "every refusal is still counted");
});

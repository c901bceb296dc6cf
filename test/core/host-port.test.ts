// host:port in one helper (core/host-port.ts): IPv6 in brackets, everywhere addresses are written,
// including the data path's "backend connect failed" log line.
import { test } from "node:test";
import assert from "node:assert/strict";
import { hostPort } from "../../src/core/host-port.ts";
import type { Transport } from "../../src/runtime/types.ts";
import { ReferenceEngine } from "../../src/core/reference-engine.ts";
import { RouteTable } from "../../src/core/route-table.ts";
import { AffinityReference } from "../../src/core/affinity.ts";
import { Router } from "../../src/proxy/router.ts";
import { createClientHandler } from "../../src/proxy/handle-client.ts";
import { formatTarget } from "../../src/runtime/errors.ts";

test("IPv6 gets brackets; IPv4 and host names do not", () => {
  assert.equal(hostPort("::1", 8080), "[::1]:8080");
  assert.equal(hostPort("fd00::2:1", 80), "[fd00::2:1]:80");
  assert.equal(hostPort("fe80::1%wg0", 9), "[fe80::1%wg0]:9");
  assert.equal(hostPort("::ffff:10.0.0.1", 443), "[::ffff:10.0.0.1]:443");
  assert.equal(hostPort("10.0.0.1", 8080), "10.0.0.1:8080");
  assert.equal(hostPort("backend-1.internal", 8080), "backend-1.internal:8080");
  assert.equal(hostPort("::", "-"), "[::]:-");
  assert.equal(formatTarget({ host: "::1", port: 9 }), "[::1]:9", "socket errors use it too");
});

test("a failed connect to an IPv6 backend is logged with brackets", async () => {
  const transport = { runtime: "node", connect: async () => { throw new Error("connect ECONNREFUSED [fd00::1]:8080"); } } as unknown as Transport;
  const engine = new ReferenceEngine(4);
  const table = new RouteTable(engine, "sa");
  table.apply({ generation: "1", backends: [{ id: "v6", app: "t", region: "sa", country: null, host: "fd00::1", port: 8080, healthy: true, weight: 1, softLimit: 10, hardLimit: 20, version: 1 }] });
  const router = new Router(engine, table, new AffinityReference(engine, 1000, 10), { locate: () => ({ country: null, region: null }) });
  const warnings: Record<string, unknown>[] = [];
  const log = { debug() {}, info() {}, error() {}, warn: (msg: string, fields?: Record<string, unknown>) => { if (msg === "backend connect failed") warnings.push(fields ?? {}); } };
  let closed!: () => void;
  const done = new Promise<void>((resolve) => { closed = resolve; });
  const handler = createClientHandler({ transport, router, log, now: () => 1_000, policy: () => ({ connectTimeoutMs: 100, connectAttempts: 1, idleTimeoutMs: 0 }) });
  handler({ remoteAddress: "192.0.2.1", remotePort: 40_000, closed: new Promise<void>(() => {}), close: () => closed() } as never);
  await done;
  assert.equal(warnings.length, 1);
  assert.equal(warnings[0]!.addr, "[fd00::1]:8080");
});

// The probes themselves: HTTP status handling (a recording GET), TCP connect-and-close.
import { test } from "node:test";
import assert from "node:assert/strict";
import { httpProbe, tcpProbe } from "../../src/health/health-probe.ts";
import type { HostPort, UpstreamSocket } from "../../src/runtime/types.ts";

const spec = { type: "http" as const, path: "/health?x=1", timeoutMs: 1000 };

function recordingGet(status: number) {
  const calls: { target: HostPort; path: string; signal: AbortSignal }[] = [];
  const get = async (target: HostPort, path: string, signal: AbortSignal) => { calls.push({ target, path, signal }); return status; };
  return { get, calls };
}

test("an http probe passes on 2xx only (a 3xx is not followed), GETs the path and passes the abort signal on", async () => {
  for (const status of [200, 204, 299]) {
    const g = recordingGet(status);
    const abort = new AbortController();
    await httpProbe(g.get)({ host: "::1", port: 8080 }, spec, abort.signal);
    assert.deepEqual(g.calls, [{ target: { host: "::1", port: 8080 }, path: "/health?x=1", signal: abort.signal }]);
  }
  for (const status of [100, 199, 301, 304, 404, 500, 503]) {
    const g = recordingGet(status);
    await assert.rejects(httpProbe(g.get)({ host: "127.0.0.1", port: 8080 }, spec, new AbortController().signal), new RegExp(`^Error: HTTP ${status}$`));
  }
});

test("a tcp probe connects with the timeout and closes at once; a refused connect fails it", async () => {
  const seen: { target: HostPort; timeoutMs: number }[] = [];
  let closed = 0;
  const socket: UpstreamSocket = { closed: new Promise(() => {}), close: () => { closed++; } };
  await tcpProbe(async (target, timeoutMs) => { seen.push({ target, timeoutMs }); return socket; })({ host: "127.0.0.9", port: 7 }, { ...spec, type: "tcp" }, new AbortController().signal);
  assert.deepEqual(seen, [{ target: { host: "127.0.0.9", port: 7 }, timeoutMs: 1000 }]);
  assert.equal(closed, 1);
  await assert.rejects(tcpProbe(async () => { throw new Error("connect ECONNREFUSED 127.0.0.9:7"); })({ host: "127.0.0.9", port: 7 }, spec, new AbortController().signal), /ECONNREFUSED/);
});

// The probes themselves: HTTP status handling and URLs (a recording fetch), TCP connect-and-close.
import { test } from "node:test";
import assert from "node:assert/strict";
import { httpProbe, tcpProbe } from "../../src/infra/health-probe.ts";
import type { HostPort, UpstreamSocket } from "../../src/runtime/types.ts";

const spec = { type: "http" as const, path: "/health?x=1", timeoutMs: 1000 };

function recordingFetch(status: number) {
  const calls: { url: string; init: RequestInit }[] = [];
  let cancelled = 0;
  const fetchImpl = (async (url: string, init: RequestInit) => {
    calls.push({ url, init });
    const body = new ReadableStream({ cancel() { cancelled++; } });
    return new Response(status === 204 || status === 304 ? null : body, { status, headers: status >= 300 && status < 400 ? { location: "/elsewhere" } : {} });
  }) as unknown as typeof fetch;
  return { fetchImpl, calls, cancelled: () => cancelled };
}

test("an http probe passes on 2xx only; the body is cancelled; redirects are not followed", async () => {
  for (const status of [200, 204, 299]) {
    const f = recordingFetch(status);
    await httpProbe(f.fetchImpl)({ host: "127.0.0.1", port: 8080 }, spec, new AbortController().signal);
    assert.equal(f.calls[0]!.url, "http://127.0.0.1:8080/health?x=1");
    assert.equal(f.calls[0]!.init.redirect, "manual");
  }
  for (const status of [301, 404, 500, 503]) {
    const f = recordingFetch(status);
    await assert.rejects(httpProbe(f.fetchImpl)({ host: "127.0.0.1", port: 8080 }, spec, new AbortController().signal), new RegExp(`^Error: HTTP ${status}$`));
  }
  const f = recordingFetch(200);
  await httpProbe(f.fetchImpl)({ host: "127.0.0.1", port: 1 }, spec, new AbortController().signal);
  assert.equal(f.cancelled(), 1, "the body is not read, the connection is released");
});

test("an http probe puts IPv6 literals in brackets and passes the abort signal on", async () => {
  const f = recordingFetch(200);
  const abort = new AbortController();
  await httpProbe(f.fetchImpl)({ host: "::1", port: 9000 }, spec, abort.signal);
  assert.equal(f.calls[0]!.url, "http://[::1]:9000/health?x=1");
  assert.equal(f.calls[0]!.init.signal, abort.signal);
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

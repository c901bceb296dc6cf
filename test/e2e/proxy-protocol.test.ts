// PROXY protocol through the real proxy process: the header edgeProxy sends its backends (env and
// per-backend config file, fresh and pooled sockets, IPv4 and IPv6), the accept gate for trusted
// peers (real address used by geo routing and the rate limit, payload after the header intact,
// malformed / oversized / truncated / slow / untrusted headers closed and counted, nothing of them
// reaching a backend), and a fuzz of mutated headers through a real socket.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createRoutingDb, type RoutingDb } from "../fixtures/routing-db.ts";
import { startProxy, type ProxyProcess } from "../fixtures/proxy-process.ts";
import { startHeaderBackend, exchange, type HeaderBackend } from "../fixtures/proxy-header-backend.ts";
import { writeMmdb } from "../fixtures/mmdb-writer.ts";
import { encodeProxyV1, encodeProxyV2 } from "../../src/core/proxy-protocol/encode.ts";
import { parseProxyHeader } from "../../src/core/proxy-protocol/parse.ts";
import { V2_SIGNATURE } from "../../src/core/proxy-protocol/header.ts";
import { mutate, prng, validHeader } from "../fixtures/proxy-headers.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const CLIENT = "127.0.0.77"; // a loopback source distinct from the proxy's own 127.0.0.1

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(25);
  }
}

async function ipv6Available(): Promise<boolean> {
  const server = net.createServer();
  try {
    await new Promise<void>((resolve, reject) => { server.once("error", reject); server.listen({ host: "::1", port: 0 }, resolve); });
    await new Promise((resolve) => server.close(resolve));
    return true;
  } catch {
    return false;
  }
}

async function metricsBase(proxy: ProxyProcess): Promise<string> {
  const line = await proxy.waitForLog("edgeProxy metrics listening");
  return `http://${String(line.addr)}`;
}

/** The value of one exposition line, e.g. `edgeproxy_proxy_protocol_rejected_total{reason="timeout"}`. */
function sample(text: string, series: string): number {
  const line = text.split("\n").find((l) => l.startsWith(series + " "));
  return line === undefined ? NaN : Number(line.slice(series.length + 1));
}

async function scrapeUntil(base: string, ok: (text: string) => boolean, what: string): Promise<string> {
  let text = "";
  try {
    await until(what, async () => ok((text = await (await fetch(`${base}/metrics`)).text())));
  } catch (err) {
    throw new Error(`${(err as Error).message}; last scrape:\n${text.split("\n").filter((l) => l.includes("proxy_protocol")).join("\n")}`);
  }
  return text;
}

const ascii = (s: string) => Buffer.from(s, "latin1");
const bytesOf = (...parts: (Uint8Array | string)[]) => Buffer.concat(parts.map((p) => (typeof p === "string" ? ascii(p) : p)));

describe("PROXY protocol: sending to backends", () => {
  let backend: HeaderBackend;
  let db: RoutingDb;
  const proxies: ProxyProcess[] = [];

  before(async () => {
    backend = await startHeaderBackend("b1");
    db = await createRoutingDb([{ id: "b1", region: "sa", port: backend.port }]);
  });
  after(async () => {
    for (const p of proxies) await p.stop();
    await backend.close();
    db.close();
  });

  test("v1 from the env: the backend learns the client's address and port before any byte, on fresh and on pooled sockets", async () => {
    const proxy = await startProxy({ EDGEPROXY_DB_PATH: db.path, EDGEPROXY_PROXY_PROTOCOL: "v1", EDGEPROXY_POOL_ENABLED: "true", EDGEPROXY_POOL_MAX_PER_BACKEND: "2" });
    proxies.push(proxy);
    await proxy.waitForLog("PROXY protocol");
    const first = await exchange(proxy.port, "hello", { localAddress: CLIENT });
    assert.equal(first.received, `b1 ${CLIENT}:${first.localPort} > 127.0.0.1:${proxy.port}\nhello`);
    // The first client's miss started the pool: wait for its sockets, which must carry no byte yet.
    // The first client's own backend connection (which carried bytes) must be closed first, or it would
    // be counted among the pooled ones.
    const firstServed = () => backend.connections.find((c) => c.answer?.includes(`:${first.localPort} `));
    await until("first connection closed and pool filled", () => firstServed()?.closed === true && backend.connections.filter((c) => !c.closed).length >= 2);
    const openBefore = backend.connections.filter((c) => !c.closed).map((c) => c.index);
    assert.ok(backend.connections.filter((c) => !c.closed).every((c) => c.raw.length === 0), "a pooled socket gets its header only when handed to a client");
    const second = await exchange(proxy.port, "again", { localAddress: CLIENT });
    assert.equal(second.received, `b1 ${CLIENT}:${second.localPort} > 127.0.0.1:${proxy.port}\nagain`);
    const served = backend.connections.find((c) => c.answer?.includes(`:${second.localPort} `));
    assert.ok(served !== undefined && openBefore.includes(served.index), "the second client was given a pooled socket");
    assert.equal(served.raw.toString("latin1"), `PROXY TCP4 ${CLIENT} 127.0.0.1 ${second.localPort} ${proxy.port}\r\nagain`);
  });

  test("v2 for one backend from the config file (env off), over IPv6", async (t) => {
    if (!(await ipv6Available())) return t.skip("no IPv6 loopback");
    const file = join(db.dir, "edgeproxy.toml");
    writeFileSync(file, '[backends.b1]\nproxy_protocol = "v2"\n');
    const proxy = await startProxy({ EDGEPROXY_DB_PATH: db.path, EDGEPROXY_CONFIG_FILE: file, EDGEPROXY_LISTEN_ADDR: "[::1]:0" });
    proxies.push(proxy);
    const before = backend.connections.length;
    const got = await exchange(proxy.port, "six", { host: "::1" });
    assert.equal(got.received, `b1 ::1:${got.localPort} > ::1:${proxy.port}\nsix`);
    const raw = backend.connections[before]!.raw;
    assert.deepEqual(raw.subarray(0, 12), Buffer.from(V2_SIGNATURE));
    assert.equal(raw[13], 0x21, "INET6 STREAM");
  });
});

describe("PROXY protocol: accepting from trusted peers", () => {
  let br: HeaderBackend, de: HeaderBackend;
  let db: RoutingDb;
  let proxy: ProxyProcess;
  let base: string;
  const backendBytes = () => [...br.connections, ...de.connections].reduce((n, c) => n + c.raw.length, 0);
  const backendConnections = () => br.connections.length + de.connections.length;

  before(async () => {
    br = await startHeaderBackend("br");
    de = await startHeaderBackend("de");
    db = await createRoutingDb([
      { id: "br", region: "sa", country: "BR", port: br.port },
      { id: "de", region: "eu", country: "DE", port: de.port },
    ]);
    const geo = join(db.dir, "geo.mmdb");
    writeFileSync(geo, writeMmdb({ databaseType: "GeoLite2-Country", networks: [{ cidr: "198.51.100.0/24", country: "BR" }, { cidr: "203.0.113.0/24", country: "DE" }, { cidr: "2001:db8:de::/48", country: "DE" }] }));
    proxy = await startProxy({
      EDGEPROXY_DB_PATH: db.path, EDGEPROXY_REGION: "us", EDGEPROXY_GEOIP_PATH: geo,
      EDGEPROXY_PROXY_PROTOCOL: "v1", EDGEPROXY_PROXY_PROTOCOL_TRUSTED: "127.0.0.1/32, ::1", EDGEPROXY_PROXY_PROTOCOL_TIMEOUT_MS: "400",
      EDGEPROXY_METRICS_ENABLED: "true", EDGEPROXY_METRICS_LISTEN_ADDR: "127.0.0.1:0",
      EDGEPROXY_RATE_LIMIT_ENABLED: "true", EDGEPROXY_RATE_LIMIT_BURST: "2", EDGEPROXY_RATE_LIMIT_MAX_REQUESTS: "1", EDGEPROXY_RATE_LIMIT_WINDOW_SECS: "3600",
    });
    base = await metricsBase(proxy);
  });
  after(async () => {
    await proxy.stop();
    await br.close();
    await de.close();
    db.close();
  });

  test("v1 and v2 headers: geo routes by the real address, the backend is told it, the bytes after the header arrive intact", async () => {
    const v1 = await exchange(proxy.port, "PROXY TCP4 198.51.100.9 192.0.2.1 4242 443\r\nGET / HTTP/1.0\r\n\r\n");
    assert.equal(v1.received, "br 198.51.100.9:4242 > 192.0.2.1:443\nGET / HTTP/1.0\r\n\r\n");
    const v2 = await exchange(proxy.port, bytesOf(encodeProxyV2({ sourceAddress: "203.0.113.5", sourcePort: 5555, destinationAddress: "192.0.2.1", destinationPort: 443 }), "\x00binary\xff"));
    assert.equal(v2.received, "de 203.0.113.5:5555 > 192.0.2.1:443\n\x00binary\xff");
    const six = await exchange(proxy.port, bytesOf(encodeProxyV1({ sourceAddress: "2001:db8:de::7", sourcePort: 7, destinationAddress: "2001:db8::1", destinationPort: 443 }), "v6"));
    assert.equal(six.received, "de 2001:db8:de::7:7 > 2001:db8::1:443\nv6");
  });

  test("a header split over several writes is waited for; LOCAL means the peer's own address", async () => {
    const socket = net.connect({ port: proxy.port, host: "127.0.0.1", allowHalfOpen: true });
    const chunks: Buffer[] = [];
    socket.on("data", (d: Buffer) => chunks.push(d));
    const ended = new Promise((r) => socket.on("end", r));
    await new Promise((r) => socket.on("connect", r));
    for (const part of ["PROXY TCP4 198.5", "1.100.10 192.0.2.1 1", "000 80\r", "\npayload"]) {
      socket.write(part);
      await sleep(30);
    }
    socket.end();
    await ended;
    socket.destroy();
    assert.equal(Buffer.concat(chunks).toString(), "br 198.51.100.10:1000 > 192.0.2.1:80\npayload");
    const local = await exchange(proxy.port, bytesOf(Uint8Array.of(...V2_SIGNATURE, 0x20, 0x00, 0x00, 0x00), "hc"));
    assert.match(local.received, new RegExp(`^(br|de) 127\\.0\\.0\\.1:${local.localPort} > 127\\.0\\.0\\.1:${proxy.port}\\nhc$`));
  });

  test("the rate limit counts the real client, not the balancer", async () => {
    const via = (ip: string) => exchange(proxy.port, `PROXY TCP4 ${ip} 192.0.2.1 1 2\r\nx`);
    assert.match((await via("198.51.100.50")).received, /^br 198\.51\.100\.50/);
    assert.match((await via("198.51.100.50")).received, /^br 198\.51\.100\.50/);
    assert.equal((await via("198.51.100.50")).received, "", "burst of 2 used up: the third is refused");
    assert.match((await via("198.51.100.51")).received, /^br 198\.51\.100\.51/, "another client behind the same balancer is not limited");
  });

  test("malformed, oversized, truncated, slow and untrusted headers close the connection, reach no backend, and are counted", async () => {
    const bytesBefore = backendBytes(), connectionsBefore = backendConnections();
    const refused = async (send: Uint8Array | string, options: Parameters<typeof exchange>[2] = {}) => assert.equal((await exchange(proxy.port, send, options)).received, "");
    await refused("GET / HTTP/1.1\r\nHost: x\r\n\r\n"); // malformed: no header at all
    await refused("PROXY TCP4 1.2.3.4 5.6.7.8 99999 1\r\nsecret");
    await refused(bytesOf(Uint8Array.of(...V2_SIGNATURE, 0x21, 0x11, 0x13, 0x88), "secret")); // 5000 bytes announced: oversized
    await refused("PROXY UNKNOWN " + "x".repeat(120)); // v1 line without CRLF: oversized
    await refused("PROXY TCP4 1.2.3.4", { finNow: true }); // FIN before the header is whole: truncated
    const started = Date.now();
    await refused("PROXY TCP4 1.2.3.4", { keepOpen: true }); // never finished: timeout
    assert.ok(Date.now() - started >= 300, "closed by the header timeout, not before");
    assert.equal(backendConnections(), connectionsBefore, "a refused header never gets a backend connection");
    // Untrusted sender: it goes through routing like any client, then its header is seen and refused.
    await refused("PROXY TCP4 6.6.6.6 1.1.1.1 1 2\r\nspoofed", { localAddress: CLIENT });
    assert.equal(backendBytes(), bytesBefore, "not one byte of a refused connection reached a backend");
    // An untrusted client without a header is an ordinary client.
    const plain = await exchange(proxy.port, "plain", { localAddress: CLIENT });
    assert.match(plain.received, new RegExp(`^(br|de) ${CLIENT.replaceAll(".", "\\.")}:${plain.localPort} > 127\\.0\\.0\\.1:${proxy.port}\\nplain$`));
    const text = await scrapeUntil(base, (t) => sample(t, 'edgeproxy_proxy_protocol_rejected_total{reason="untrusted"}') === 1, "rejections counted");
    const rejected = (reason: string) => sample(text, `edgeproxy_proxy_protocol_rejected_total{reason="${reason}"}`);
    assert.deepEqual([rejected("malformed"), rejected("oversized"), rejected("truncated"), rejected("timeout")], [2, 2, 1, 1]);
    assert.ok(sample(text, 'edgeproxy_proxy_protocol_headers_total{command="proxy"}') >= 7);
    assert.ok(sample(text, 'edgeproxy_proxy_protocol_headers_total{command="local"}') >= 1);
    assert.equal(proxy.child.exitCode, null, "still running");
  });
});

describe("PROXY protocol: fuzz through a real socket", () => {
  let backend: HeaderBackend;
  let db: RoutingDb;
  let proxy: ProxyProcess;

  before(async () => {
    backend = await startHeaderBackend("f");
    db = await createRoutingDb([{ id: "f", region: "sa", port: backend.port }]);
    proxy = await startProxy({
      EDGEPROXY_DB_PATH: db.path, EDGEPROXY_PROXY_PROTOCOL: "v2", EDGEPROXY_PROXY_PROTOCOL_TRUSTED: "127.0.0.1/32", EDGEPROXY_PROXY_PROTOCOL_TIMEOUT_MS: "2000",
      EDGEPROXY_METRICS_ENABLED: "true", EDGEPROXY_METRICS_LISTEN_ADDR: "127.0.0.1:0",
    });
  });
  after(async () => {
    await proxy.stop();
    await backend.close();
    db.close();
  });

  test("mutated headers: the proxy survives, refused ones forward nothing and are counted, accepted ones forward exactly the bytes after the header", { timeout: 120_000 }, async () => {
    const base = await metricsBase(proxy);
    const expected = new Map<string, number>();
    let accepted = 0;
    for (let seed = 1; seed <= 120; seed++) {
      const rand = prng(seed * 7919);
      const payload = ascii(`|payload-${seed}|`);
      const bytes = bytesOf(seed % 6 === 0 ? Uint8Array.from({ length: 1 + Math.floor(rand() * 40) }, () => Math.floor(rand() * 256)) : mutate(validHeader(rand), rand), payload);
      const oracle = parseProxyHeader(bytes);
      const connectionsBefore = backend.connections.length;
      const got = await exchange(proxy.port, bytes, { finNow: oracle.kind === "incomplete" });
      if (oracle.kind !== "header") {
        const reason = oracle.kind === "rejected" ? oracle.reason : "truncated"; // we half-close after sending
        expected.set(reason, (expected.get(reason) ?? 0) + 1);
        assert.equal(got.received, "", `seed ${seed}: refused (${reason}), yet the client got an answer`);
        assert.equal(backend.connections.length, connectionsBefore, `seed ${seed}: refused (${reason}), yet a backend connection was made`);
        continue;
      }
      accepted++;
      const rest = bytes.subarray(oracle.length).toString("latin1");
      const h = oracle.header;
      const who = h.command === "proxy" ? `${h.origin.sourceAddress}:${h.origin.sourcePort} > ${h.origin.destinationAddress}:${h.origin.destinationPort}` : `127.0.0.1:${got.localPort} > 127.0.0.1:${proxy.port}`;
      assert.equal(got.received, `f ${who}\n${rest}`, `seed ${seed}`);
      const raw = backend.connections.at(-1)!.raw;
      const own = parseProxyHeader(raw);
      assert.ok(own.kind === "header", `seed ${seed}: the backend got edgeProxy's own header first`);
      assert.equal(raw.subarray(own.length).toString("latin1"), rest, `seed ${seed}: exactly the bytes after the client's header`);
    }
    assert.ok(accepted > 0 && expected.size > 0, `a fuzz needs both outcomes (accepted ${accepted}, refused ${JSON.stringify([...expected])})`);
    const text = await scrapeUntil(base, (t) => [...expected].every(([reason, n]) => sample(t, `edgeproxy_proxy_protocol_rejected_total{reason="${reason}"}`) === n), "every refusal counted by reason");
    assert.equal(sample(text, 'edgeproxy_proxy_protocol_rejected_total{reason="untrusted"}'), 0);
    assert.equal(proxy.child.exitCode, null, "still running");
    const after = await exchange(proxy.port, bytesOf(encodeProxyV1({ sourceAddress: "198.51.100.1", sourcePort: 1, destinationAddress: "192.0.2.1", destinationPort: 2 }), "ok"));
    assert.equal(after.received, "f 198.51.100.1:1 > 192.0.2.1:2\nok");
  });
});

// TLS termination end to end: the real proxy process with EDGEPROXY_TLS_ENABLED, a throwaway CA,
// echo backends; openssl s_client and the runtime's own TLS client.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { startBackend, whoAnswers, type TestBackend } from "../fixtures/backends.ts";
import { createRoutingDb, type RoutingDb } from "../fixtures/routing-db.ts";
import { runToExit, startProxy, type ProxyProcess } from "../fixtures/proxy-process.ts";
import { createTestCa, type ServerCert, type TestCa } from "../fixtures/test-ca.ts";
import { nodeTlsConnect, opensslExchange, runtimeTlsConnect } from "../fixtures/tls-client.ts";

const tlsPort = async (proxy: ProxyProcess) => Number(String((await proxy.waitForLog("TLS listening")).addr).split(":").pop());

describe("TLS termination", () => {
  let ca: TestCa;
  let first: ServerCert;
  let second: ServerCert;
  let backends: TestBackend[];
  let db: RoutingDb;
  let proxy: ProxyProcess;
  let port: number;
  let certPath: string;
  let keyPath: string;

  before(async () => {
    ca = createTestCa();
    first = ca.issue("first.test");
    second = ca.issue("second.test");
    // The proxy reads these paths; the reload test overwrites them.
    certPath = join(ca.dir, "live-cert.pem");
    keyPath = join(ca.dir, "live-key.pem");
    copyFileSync(first.certPath, certPath);
    copyFileSync(first.keyPath, keyPath);
    backends = [await startBackend("b1"), await startBackend("b2")];
    db = await createRoutingDb(backends.map((b) => ({ id: b.id, region: "sa", port: b.port })));
    proxy = await startProxy({
      EDGEPROXY_DB_PATH: db.path, EDGEPROXY_TLS_ENABLED: "true", EDGEPROXY_TLS_LISTEN_ADDR: "127.0.0.1:0",
      EDGEPROXY_TLS_CERT: certPath, EDGEPROXY_TLS_KEY: keyPath, EDGEPROXY_TLS_HANDSHAKE_TIMEOUT_SECS: "1",
      EDGEPROXY_CONFIG_WATCH_INTERVAL_SECS: "1",
    });
    port = await tlsPort(proxy);
  });
  after(async () => {
    assert.equal(await proxy.stop(), 0);
    for (const b of backends) await b.close();
    db.close();
    ca.remove();
  });

  test("openssl s_client: verified handshake, the backend's greeting, then the echo", async () => {
    const out = await opensslExchange(port, ca.caPath, "ping over tls\n", 2);
    const [greeting, echo] = out.split("\n");
    assert.ok(["b1", "b2"].includes(greeting!), out);
    assert.equal(echo, "ping over tls");
  });

  test("the runtime's own TLS client reaches a backend and gets its echo", async () => {
    const client = await runtimeTlsConnect(port, ca.ca);
    try {
      assert.ok(["b1", "b2"].includes(await client.readLine()));
      await client.write("hello\n");
      assert.equal(await client.readLine(), "hello");
    } finally {
      client.close();
    }
  });

  test("routes exactly like the TCP listener: one client address sticks to one backend across both", async () => {
    for (const host of [11, 12, 13, 14, 15, 16, 17, 18]) {
      const from = `127.0.7.${host}`;
      const overTcp = await whoAnswers(proxy.port, from);
      const client = await nodeTlsConnect(port, ca.ca, from);
      try {
        assert.equal(await client.readLine(), overTcp, `client ${from}`);
      } finally {
        client.close();
      }
    }
  });

  test("a client that sends no handshake is disconnected after EDGEPROXY_TLS_HANDSHAKE_TIMEOUT_SECS", async () => {
    const raw = net.connect({ host: "127.0.0.1", port });
    raw.on("error", () => {});
    raw.resume();
    const started = Date.now();
    const closed = await Promise.race([
      new Promise((resolve) => raw.once("close", () => resolve(true))),
      new Promise((resolve) => setTimeout(resolve, 10_000, false)), // a generous deadline, not a timing
    ]);
    raw.destroy();
    assert.ok(closed, "still open 10 s after connecting with a 1 s handshake timeout");
    const waited = Date.now() - started;
    assert.ok(waited >= 900, `closed after ${waited} ms, before the 1 s handshake timeout`); // a timer never fires early
  });

  test("new certificate files are served to new connections; an open connection keeps flowing", async () => {
    const open = await nodeTlsConnect(port, ca.ca);
    assert.equal(open.peerName, "first.test");
    await open.readLine();
    // A key that does not match the certificate is rejected and the served certificate stays.
    writeFileSync(keyPath, second.key);
    await proxy.waitForLog("TLS certificate files rejected");
    const meanwhile = await nodeTlsConnect(port, ca.ca);
    assert.equal(meanwhile.peerName, "first.test");
    meanwhile.close();
    writeFileSync(certPath, second.cert);
    await proxy.waitForLog("TLS certificate reloaded");
    const fresh = await nodeTlsConnect(port, ca.ca);
    assert.equal(fresh.peerName, "second.test");
    fresh.close();
    await open.write("still open\n");
    assert.equal(await open.readLine(), "still open");
    open.close();
  });
});

describe("TLS startup errors", () => {
  let ca: TestCa;
  let cert: ServerCert;
  before(() => {
    ca = createTestCa();
    cert = ca.issue("bad.test");
  });
  after(() => ca.remove());

  const start = (env: Record<string, string>) => runToExit({ EDGEPROXY_DB_PATH: join(ca.dir, "routing.db"), EDGEPROXY_TLS_ENABLED: "true", EDGEPROXY_TLS_LISTEN_ADDR: "127.0.0.1:0", ...env });

  test("a missing certificate file stops startup naming EDGEPROXY_TLS_CERT", async () => {
    const { code, stderr } = await start({ EDGEPROXY_TLS_CERT: join(ca.dir, "nope.pem"), EDGEPROXY_TLS_KEY: cert.keyPath });
    assert.equal(code, 1);
    assert.match(stderr, /EDGEPROXY_TLS_CERT: cannot read .*nope\.pem/);
  });

  test("a key file that is no PEM key stops startup naming EDGEPROXY_TLS_KEY", async () => {
    const { code, stderr } = await start({ EDGEPROXY_TLS_CERT: cert.certPath, EDGEPROXY_TLS_KEY: cert.certPath });
    assert.equal(code, 1);
    assert.match(stderr, /EDGEPROXY_TLS_KEY: .* holds no PEM private key/);
  });

  test("a key that does not match the certificate stops startup naming EDGEPROXY_TLS_KEY", async () => {
    const other = ca.issue("other.test");
    const { code, stderr } = await start({ EDGEPROXY_TLS_CERT: cert.certPath, EDGEPROXY_TLS_KEY: other.keyPath });
    assert.equal(code, 1);
    assert.match(stderr, /EDGEPROXY_TLS_KEY: .* cannot be used together/);
  });

  test("TLS enabled without EDGEPROXY_TLS_CERT is a configuration error (exit 2)", async () => {
    const { code, stderr } = await start({ EDGEPROXY_TLS_KEY: cert.keyPath });
    assert.equal(code, 2);
    assert.match(stderr, /EDGEPROXY_TLS_CERT: required when EDGEPROXY_TLS_ENABLED=true/);
  });
});

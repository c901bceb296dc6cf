// TLS listener conformance, run against every runtime adapter: node:tls clients (they work on all
// three runtimes) with a throwaway CA, node:net echo backends, the adapter's listenTls in the middle.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import net from "node:net";
import tls from "node:tls";
import { after, afterEach, before, describe, test } from "node:test";
import type { ClientSocket, SpliceResult, TlsListener, Transport } from "../../src/runtime/types.ts";
import { createTestCa, type ServerCert, type TestCa } from "../fixtures/test-ca.ts";

const loopback = "127.0.0.1";
const leftovers: (() => unknown)[] = [];

async function closeLeftovers(): Promise<void> {
  for (const close of leftovers.splice(0).reverse()) {
    try {
      await close();
    } catch {
      // closed already
    }
  }
}

/** Greets with "hi\n", then echoes; ends its side after the client's FIN. */
async function startEchoBackend(): Promise<number> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
    socket.write("hi\n");
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen({ host: loopback, port: 0 }, resolve));
  leftovers.push(() => {
    for (const s of sockets) s.destroy();
    return new Promise((done) => server.close(done));
  });
  return (server.address() as net.AddressInfo).port;
}

interface TlsProxy {
  readonly listener: TlsListener;
  readonly port: number;
  readonly clients: ClientSocket[];
  readonly splices: Promise<SpliceResult>[];
}

async function startTlsProxy(transport: Transport, backendPort: number, cert: ServerCert, handshakeTimeoutMs = 5000): Promise<TlsProxy> {
  const clients: ClientSocket[] = [];
  const splices: Promise<SpliceResult>[] = [];
  const listener = await transport.listenTls(
    { host: loopback, port: 0, credentials: { cert: cert.cert, key: cert.key }, handshakeTimeoutMs },
    (client) => {
      clients.push(client);
      splices.push(
        transport.connect({ host: loopback, port: backendPort }, 2000).then((upstream) => {
          const splice = transport.splice(client, upstream, { idleTimeoutMs: 0 });
          leftovers.push(() => splice.abort());
          return splice.done;
        }),
      );
    },
  );
  leftovers.push(() => listener.close());
  return { listener, port: listener.address.port, clients, splices };
}

function connectTls(port: number, ca: string): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: loopback, port, ca, servername: "localhost" }, () => resolve(socket));
    socket.once("error", reject);
    leftovers.push(() => socket.destroy());
  });
}

/** Everything until the FIN (or the close, for runtimes that close after close_notify). */
function readAll(socket: tls.TLSSocket): Promise<string> {
  let text = "";
  socket.setEncoding("utf8");
  return new Promise((resolve, reject) => {
    socket.on("data", (d: string) => (text += d));
    socket.once("end", () => resolve(text));
    socket.once("close", () => resolve(text));
    socket.once("error", reject);
  });
}

function readLine(socket: tls.TLSSocket): Promise<string> {
  let text = "";
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      text += d.toString("utf8");
      const nl = text.indexOf("\n");
      if (nl >= 0) {
        socket.off("data", onData);
        resolve(text.slice(0, nl));
      }
    };
    socket.on("data", onData);
    socket.once("error", reject);
  });
}

const commonName = (socket: tls.TLSSocket): string => String(socket.getPeerCertificate().subject?.CN ?? "");

export function tlsTransportSuite(transport: Transport): void {
  describe(`TLS listener conformance (${transport.runtime})`, () => {
    let ca: TestCa;
    let first: ServerCert;
    let second: ServerCert;
    before(() => {
      ca = createTestCa();
      first = ca.issue("first.test");
      second = ca.issue("second.test");
    });
    after(() => ca.remove());
    afterEach(closeLeftovers);

    test("terminates TLS: the backend greeting, an echo and the half-close come through in clear", async () => {
      const proxy = await startTlsProxy(transport, await startEchoBackend(), first);
      const client = await connectTls(proxy.port, ca.ca);
      assert.equal(commonName(client), "first.test");
      let seen = "";
      client.on("data", (d: string | Buffer) => (seen += String(d)));
      const all = readAll(client);
      client.write("ping\n");
      for (let i = 0; i < 500 && !seen.includes("ping\n"); i++) await new Promise((r) => setTimeout(r, 10)); // echoed: the splice is up
      client.end("last\n"); // half-close: the echo of "last" still arrives
      assert.equal(await all, "hi\nping\nlast\n");
      const result = await proxy.splices[0]!;
      assert.equal(result.bytesFromClient, 10);
      assert.equal(result.bytesToClient, 13);
      assert.equal(proxy.clients[0]!.remoteAddress, loopback);
    });

    test("16 MiB each way through TLS (backpressure both ways): checksums and counts match", { timeout: 60_000 }, async () => {
      const proxy = await startTlsProxy(transport, await startEchoBackend(), first);
      const client = await connectTls(proxy.port, ca.ca);
      const total = 3 + (16 << 20);
      const sent = createHash("sha256").update("hi\n");
      const got = createHash("sha256");
      let received = 0;
      // Ends on the byte count, not on a FIN: see stream-conn.ts on Deno's node:tls and half-close.
      const done = new Promise<void>((resolve, reject) => {
        client.on("data", (chunk: Buffer) => {
          got.update(chunk);
          received += chunk.length;
          if (received >= total) resolve();
        });
        client.once("error", reject);
      });
      for (let i = 0; i < 16; i++) {
        const chunk = randomBytes(1 << 20);
        sent.update(chunk);
        if (!client.write(chunk)) await new Promise((resolve) => client.once("drain", resolve));
      }
      await done;
      assert.equal(received, total);
      assert.equal(got.digest("hex"), sent.digest("hex"));
      client.destroy();
      const result = await proxy.splices[0]!;
      assert.deepEqual([result.bytesFromClient, result.bytesToClient], [16 << 20, total]);
    });

    test("a client that never finishes the handshake is disconnected after the timeout and never routed", async () => {
      const proxy = await startTlsProxy(transport, await startEchoBackend(), first, 300);
      const raw = net.connect({ host: loopback, port: proxy.port });
      leftovers.push(() => raw.destroy());
      raw.on("error", () => {});
      raw.resume();
      const started = Date.now();
      await new Promise((resolve) => raw.once("close", resolve));
      assert.ok(Date.now() - started >= 250, "closed before the handshake timeout");
      assert.equal(proxy.clients.length, 0);
    });

    test("a failed handshake (plain bytes) is dropped and the listener keeps serving", async () => {
      const proxy = await startTlsProxy(transport, await startEchoBackend(), first);
      const raw = net.connect({ host: loopback, port: proxy.port });
      raw.on("error", () => {});
      leftovers.push(() => raw.destroy());
      raw.resume(); // the TLS alert must be read for the close to be seen
      raw.write("GET / HTTP/1.0\r\n\r\n");
      await new Promise((resolve) => raw.once("close", resolve));
      const client = await connectTls(proxy.port, ca.ca);
      assert.equal(await readLine(client), "hi");
      assert.equal(proxy.clients.length, 1);
    });

    test("unusable credentials reject with ETLSCREDENTIALS; a taken port with EADDRINUSE", async () => {
      const badPair = { cert: first.cert, key: second.key };
      await assert.rejects(transport.listenTls({ host: loopback, port: 0, credentials: badPair, handshakeTimeoutMs: 1000 }, () => {}), { code: "ETLSCREDENTIALS" });
      await assert.rejects(transport.listenTls({ host: loopback, port: 0, credentials: { cert: "not a pem", key: "nor this" }, handshakeTimeoutMs: 1000 }, () => {}), { code: "ETLSCREDENTIALS" });
      const proxy = await startTlsProxy(transport, await startEchoBackend(), first);
      await assert.rejects(transport.listenTls({ host: loopback, port: proxy.port, credentials: first, handshakeTimeoutMs: 1000 }, () => {}), { code: "EADDRINUSE" });
    });

    test("setCredentials: new connections get the new certificate, an established one keeps flowing", async () => {
      const proxy = await startTlsProxy(transport, await startEchoBackend(), first);
      const early = await connectTls(proxy.port, ca.ca);
      assert.equal(await readLine(early), "hi");
      await proxy.listener.setCredentials({ cert: second.cert, key: second.key });
      const late = await connectTls(proxy.port, ca.ca);
      assert.equal(commonName(late), "second.test");
      assert.equal(await readLine(late), "hi");
      early.write("still here\n");
      assert.equal(await readLine(early), "still here");
      assert.equal(proxy.listener.address.port, proxy.port);
    });

    test("setCredentials with a bad pair rejects and the previous certificate stays in service", async () => {
      const proxy = await startTlsProxy(transport, await startEchoBackend(), first);
      await assert.rejects(proxy.listener.setCredentials({ cert: second.cert, key: first.key }), { code: "ETLSCREDENTIALS" });
      const client = await connectTls(proxy.port, ca.ca);
      assert.equal(commonName(client), "first.test");
      assert.equal(await readLine(client), "hi");
    });

    test("close refuses new connections", async () => {
      const proxy = await startTlsProxy(transport, await startEchoBackend(), first);
      await proxy.listener.close();
      await assert.rejects(connectTls(proxy.port, ca.ca));
    });
  });
}

// Conformance suite every runtime adapter must pass: real loopback sockets, port 0 everywhere.
// Clients and backends use node:net (it works on all three runtimes); only the proxy in the middle
// is the adapter under test.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import net from "node:net";
import process from "node:process";
import { afterEach, describe, test } from "node:test";
import type { ClientSocket, Listener, SpliceResult, Transport, UpstreamSocket } from "../../src/runtime/types.ts";
import { socketsTo, TCP } from "../fixtures/tcp-table.ts";

const loopback = "127.0.0.1";
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------- cleanup

/** Whatever a test opened; afterEach closes what is left, so a failing test cannot hang the run. */
const leftovers = new Set<() => unknown>();

async function closeLeftovers(): Promise<void> {
  const all = [...leftovers].reverse();
  leftovers.clear();
  for (const close of all) {
    try {
      await close();
    } catch {
      // closed already
    }
  }
}

// ---------------------------------------------------------------- backends and clients (node:net)

interface Backend {
  readonly port: number;
  close(): Promise<void>;
}

function startBackend(onSocket: (socket: net.Socket) => void, host = loopback): Promise<Backend> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
    onSocket(socket);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host, port: 0 }, () => {
      const close = (): Promise<void> => {
        leftovers.delete(close);
        for (const socket of sockets) socket.destroy();
        return new Promise((done) => server.close(() => done()));
      };
      leftovers.add(close);
      resolve({ port: (server.address() as net.AddressInfo).port, close });
    });
  });
}

/** Echo backend that also echoes the FIN (allowHalfOpen + pipe ends our side after theirs). */
const echo = (socket: net.Socket) => socket.pipe(socket);

function connectClient(port: number, host = loopback): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, allowHalfOpen: true }, () => {
      socket.off("error", reject);
      leftovers.add(() => socket.destroy());
      resolve(socket);
    });
    socket.once("error", reject);
  });
}

/** Everything the socket sends until its FIN. */
function readAll(socket: net.Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.once("end", () => resolve(Buffer.concat(chunks)));
    socket.once("error", reject);
  });
}

function readExactly(socket: net.Socket, length: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let got = 0;
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      got += chunk.length;
      if (got >= length) {
        socket.off("data", onData);
        resolve(Buffer.concat(chunks));
      }
    };
    socket.on("data", onData);
    socket.once("error", reject);
  });
}

/** The peer went away: FIN (our sockets are half-open capable, so no auto close), reset or close. */
function goneEvent(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed || socket.readableEnded) return resolve();
    socket.once("end", resolve).once("close", resolve).once("error", () => resolve());
  });
}

/**
 * A witness that the event loop has polled socket I/O since now: a byte echoed over a fresh loopback
 * connection. Whatever reached a socket's kernel buffer before the call has been seen by the adapter
 * (same loop, same poll) once this resolves, so a test can assert that nothing happened in reaction
 * to it without sleeping.
 */
async function ioRoundTrip(): Promise<void> {
  const server = await startBackend(echo);
  const socket = await connectClient(server.port);
  socket.write("w");
  await readExactly(socket, 1);
  socket.destroy();
  await server.close();
}

/** Sockets of ours connecting or connected to 127.0.0.1:`port` (null: no /proc/net/tcp, not Linux). */
const liveConnectsTo = (port: number) => socketsTo(port, [TCP.SYN_SENT, TCP.ESTABLISHED]);

// ---------------------------------------------------------------- the proxy under test

interface Proxy {
  readonly port: number;
  readonly listener: Listener;
  /** One entry per spliced client, in accept order. */
  readonly splices: Promise<SpliceResult>[];
  readonly aborts: (() => void)[];
  close(): Promise<void>;
}

interface ProxyOptions {
  readonly host?: string;
  readonly backendHost?: string;
  readonly idleTimeoutMs?: number;
  /** Wait before connecting upstream (early client bytes pile up meanwhile). */
  readonly connectDelayMs?: number;
  /** Wait between connect and splice (early upstream bytes pile up meanwhile). */
  readonly spliceDelayMs?: number;
}

async function startProxy(transport: Transport, backendPort: number, options: ProxyOptions = {}): Promise<Proxy> {
  const splices: Promise<SpliceResult>[] = [];
  const aborts: (() => void)[] = [];
  const onClient = async (client: ClientSocket): Promise<void> => {
    let resolveSplice!: (result: SpliceResult) => void;
    splices.push(new Promise((resolve) => (resolveSplice = resolve)));
    if (options.connectDelayMs) await sleep(options.connectDelayMs);
    let upstream: UpstreamSocket;
    try {
      upstream = await transport.connect({ host: options.backendHost ?? loopback, port: backendPort }, 2000);
    } catch (error) {
      client.close();
      throw error;
    }
    if (options.spliceDelayMs) await sleep(options.spliceDelayMs);
    const splice = transport.splice(client, upstream, { idleTimeoutMs: options.idleTimeoutMs ?? 0 });
    aborts.push(() => splice.abort());
    resolveSplice(await splice.done);
  };
  const listener = await transport.listen({ host: options.host ?? loopback, port: 0 }, (client) => {
    onClient(client).catch((error) => console.error("proxy under test:", error));
  });
  leftovers.add(() => {
    for (const abort of aborts) abort();
    return listener.close();
  });
  return { port: listener.address.port, listener, splices, aborts, close: () => listener.close() };
}

// ---------------------------------------------------------------- a listener that never accepts

/**
 * A child process listening with backlog 1, then stopped (SIGSTOP): once its accept queue is full,
 * the kernel drops further SYNs, so a connect to it hangs on loopback. Reports live connections.
 */
interface StalledListener {
  readonly port: number;
  /** Connections the child currently holds open (after it is resumed). */
  readonly openCount: () => number;
  resume(): void;
  kill(): void;
}

const stalledListenerSource = `
import("node:net").then(({ default: net }) => {
  let open = 0;
  const server = net.createServer((socket) => {
    open++;
    console.log("open " + open);
    socket.on("error", () => {});
    socket.on("close", () => { open--; console.log("open " + open); });
  });
  server.listen({ host: "127.0.0.1", port: 0, backlog: 1 }, () => console.log("port " + server.address().port));
});`;

function evalArgs(runtime: Transport["runtime"], source: string): string[] {
  return runtime === "deno" ? ["eval", source] : ["-e", source];
}

function startStalledListener(runtime: Transport["runtime"]): Promise<StalledListener> {
  const child: ChildProcess = spawn(process.execPath, evalArgs(runtime, stalledListenerSource), {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let open = 0;
  return new Promise((resolve, reject) => {
    let pending = "";
    child.once("error", reject);
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (text: string) => {
      pending += text;
      const lines = pending.split("\n");
      pending = lines.pop()!;
      for (const line of lines) {
        const [what, value] = line.split(" ");
        if (what === "open") open = Number(value);
        if (what === "port") {
          process.kill(child.pid!, "SIGSTOP");
          resolve({
            port: Number(value),
            openCount: () => open,
            resume: () => process.kill(child.pid!, "SIGCONT"),
            kill: () => {
              process.kill(child.pid!, "SIGCONT");
              child.kill("SIGKILL");
            },
          });
        }
      }
    });
  });
}

/**
 * Connects to the stopped listener until its accept queue is full (a connect stays pending).
 * Adaptive because runtimes differ: Node and Deno honour backlog 1, Bun's node:net uses 512.
 */
async function fillAcceptQueue(port: number): Promise<net.Socket[]> {
  const fillers: net.Socket[] = [];
  const attempt = (): Promise<boolean> => {
    const socket = net.connect({ host: loopback, port });
    socket.on("error", () => {});
    fillers.push(socket);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), 150);
      socket.once("connect", () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  };
  for (let round = 0; round < 40; round++) {
    const connected = await Promise.all(Array.from({ length: 64 }, attempt));
    if (connected.includes(false)) return fillers;
  }
  for (const socket of fillers) socket.destroy();
  throw new Error("could not fill the accept queue of the stopped listener");
}

// ---------------------------------------------------------------- data helpers

function sha256(data: Buffer | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Writes `chunks` random 1 MiB chunks with backpressure; resolves with their sha256 and length. */
async function sendRandom(socket: net.Socket, chunks: number): Promise<{ digest: string; bytes: number }> {
  const hash = createHash("sha256");
  let bytes = 0;
  for (let i = 0; i < chunks; i++) {
    const chunk = randomBytes(1 << 20);
    hash.update(chunk);
    bytes += chunk.length;
    if (!socket.write(chunk)) await new Promise((resolve) => socket.once("drain", resolve));
  }
  socket.end();
  return { digest: hash.digest("hex"), bytes };
}

/** Hashes everything until FIN. */
function hashAll(socket: net.Socket): Promise<{ digest: string; bytes: number }> {
  const hash = createHash("sha256");
  let bytes = 0;
  return new Promise((resolve, reject) => {
    socket.on("data", (chunk: Buffer) => {
      hash.update(chunk);
      bytes += chunk.length;
    });
    socket.once("end", () => resolve({ digest: hash.digest("hex"), bytes }));
    socket.once("error", reject);
  });
}

/** Picks a loopback port nothing listens on (bind port 0, close it). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen({ host: loopback, port: 0 }, resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function ipv6Available(): Promise<boolean> {
  const server = net.createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host: "::1", port: 0 }, resolve);
    });
    await new Promise((resolve) => server.close(resolve));
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------- the suite

export function transportSuite(transport: Transport): void {
  describe(`transport conformance (${transport.runtime})`, () => {
    afterEach(closeLeftovers);

    test("echo round trip, counted both ways", async () => {
      const backend = await startBackend(echo);
      const proxy = await startProxy(transport, backend.port);
      const client = await connectClient(proxy.port);
      const reply = readAll(client);
      client.end("hello edge");
      assert.equal((await reply).toString(), "hello edge");
      assert.deepEqual(await proxy.splices[0], { bytesFromClient: 10, bytesToClient: 10, reason: "eof" });
      await proxy.close();
      await backend.close();
    });

    test("client bytes sent before splice are delivered first", async () => {
      let received: Promise<Buffer> | undefined;
      const backend = await startBackend((socket) => {
        received = readExactly(socket, 9);
        received.then(() => socket.end("ok"));
      });
      const proxy = await startProxy(transport, backend.port, { connectDelayMs: 100 });
      const client = await connectClient(proxy.port);
      client.write("early");
      client.write("-bit");
      const reply = readAll(client);
      assert.equal((await reply).toString(), "ok");
      assert.equal((await received!).toString(), "early-bit");
      client.end();
      const result = await proxy.splices[0]!;
      assert.equal(result.bytesFromClient, 9);
      assert.equal(result.bytesToClient, 2);
      await proxy.close();
      await backend.close();
    });

    test("upstream bytes sent before splice (server speaks first) are delivered", async () => {
      const backend = await startBackend((socket) => {
        socket.write("220 greeting\r\n");
        socket.on("end", () => socket.end());
        socket.resume();
      });
      const proxy = await startProxy(transport, backend.port, { spliceDelayMs: 100 });
      const client = await connectClient(proxy.port);
      const greeting = await readExactly(client, 14);
      assert.equal(greeting.toString(), "220 greeting\r\n");
      client.end();
      assert.equal((await proxy.splices[0])!.bytesToClient, 14);
      await proxy.close();
      await backend.close();
    });

    test("early client bytes are bounded before splice, then all delivered", async () => {
      const total = 1 << 20; // far above the early-buffer bound: the client must be held back
      let digest: Promise<{ digest: string; bytes: number }> | undefined;
      const backend = await startBackend((socket) => {
        digest = hashAll(socket);
        digest.then(() => socket.end());
      });
      const proxy = await startProxy(transport, backend.port, { connectDelayMs: 300 });
      const client = await connectClient(proxy.port);
      const data = randomBytes(total);
      client.end(data);
      const closed = readAll(client);
      const got = await (async () => {
        while (!digest) await sleep(10);
        return digest;
      })();
      assert.equal(got.bytes, total);
      assert.equal(got.digest, sha256(data));
      await closed;
      assert.equal((await proxy.splices[0])!.bytesFromClient, total);
      await proxy.close();
      await backend.close();
    });

    test("64 MiB each way: checksums and counts match", { timeout: 120_000 }, async () => {
      const mib = 64;
      let backendSide: Promise<[{ digest: string; bytes: number }, { digest: string; bytes: number }]> | undefined;
      const backend = await startBackend((socket) => {
        backendSide = Promise.all([hashAll(socket), sendRandom(socket, mib)]);
      });
      const proxy = await startProxy(transport, backend.port);
      const client = await connectClient(proxy.port);
      const [clientGot, clientSent] = await Promise.all([hashAll(client), sendRandom(client, mib)]);
      const [backendGot, backendSent] = await backendSide!;
      assert.equal(backendGot.bytes, mib << 20);
      assert.equal(backendGot.digest, clientSent.digest);
      assert.equal(clientGot.bytes, mib << 20);
      assert.equal(clientGot.digest, backendSent.digest);
      assert.deepEqual(await proxy.splices[0], { bytesFromClient: mib << 20, bytesToClient: mib << 20, reason: "eof" });
      await proxy.close();
      await backend.close();
    });

    test("many idle connections waking at once, half of them with a slow reader, never mix bytes", { timeout: 120_000 }, async () => {
      // Adapters may share a read buffer among idle sockets: a write the kernel does not take at once
      // (a slow reader) must not point into bytes that the next socket to wake reads over.
      // Odd connections: slow readers, with more than the kernel buffers between proxy and client (a
      // paused reader's receive window stays small; the send buffer grows to 4 MiB at most).
      const connections = 12, fast = 1 << 20, slow = 8 << 20;
      const sent = new Map<number, Promise<{ digest: string; bytes: number }>>();
      let accepted = 0;
      const backend = await startBackend((socket) => {
        const id = accepted++;
        const total = id % 2 === 1 ? slow : fast;
        sent.set(id, (async () => {
          await readExactly(socket, 1); // the client is spliced and ready
          const hash = createHash("sha256");
          let bytes = 0;
          while (bytes < total) {
            // bursts of 1 byte .. 40 KiB with pauses between them, so sockets keep going idle and waking
            const chunk = randomBytes(Math.min(total - bytes, 1 + ((id * 7919 + bytes) % (40 << 10))));
            hash.update(chunk);
            bytes += chunk.length;
            if (!socket.write(chunk)) await new Promise((resolve) => socket.once("drain", resolve));
            await sleep(bytes % 3 === 0 ? 1 : 0);
          }
          socket.end();
          return { digest: hash.digest("hex"), bytes };
        })());
      });
      const proxy = await startProxy(transport, backend.port);
      const clients: net.Socket[] = [];
      const received: Promise<{ digest: string; bytes: number }>[] = [];
      for (let i = 0; i < connections; i++) {
        const client = await connectClient(proxy.port);
        clients.push(client);
        client.write("x");
        while (sent.size <= i) await sleep(5); // one at a time, so client i is backend i
        received.push(hashAll(client));
        if (i % 2 === 1) client.pause(); // slow reader: the proxy's writes to it queue up
      }
      await sleep(1500);
      for (const client of clients) client.resume();
      for (let i = 0; i < connections; i++) {
        const [got, want] = await Promise.all([received[i]!, sent.get(i)!]);
        assert.equal(got.bytes, want.bytes, `connection ${i}`);
        assert.equal(got.digest, want.digest, `connection ${i}: bytes mixed up`);
      }
      for (const client of clients) client.end();
      await proxy.close();
      await backend.close();
    });

    test("backpressure: a client that stops reading holds the backend back (bounded buffering)", { timeout: 60_000 }, async () => {
      let backendSocket: net.Socket | undefined;
      const backend = await startBackend((socket) => (backendSocket = socket));
      const proxy = await startProxy(transport, backend.port);
      const client = await connectClient(proxy.port);
      client.pause(); // reads nothing: every buffer on the way must fill up, then the backend blocks
      while (!backendSocket) await sleep(5);
      const hash = createHash("sha256");
      let written = 0;
      for (;;) {
        const chunk = randomBytes(1 << 20);
        hash.update(chunk);
        written += chunk.length;
        if (backendSocket.write(chunk)) continue;
        const drained = await Promise.race([
          new Promise<boolean>((resolve) => backendSocket!.once("drain", () => resolve(true))),
          sleep(500).then(() => false),
        ]);
        if (!drained) break;
        assert.ok(written < 64 << 20, `the proxy took ${written >> 20} MiB without pushing back`);
      }
      // Kernel socket buffers on loopback hold a few MiB per socket; the proxy must add only a little.
      assert.ok(written < 48 << 20, `backend wrote ${written >> 20} MiB into a client that reads nothing`);
      backendSocket.end();
      const received = hashAll(client);
      client.resume();
      const got = await received;
      assert.equal(got.bytes, written);
      assert.equal(got.digest, hash.digest("hex"));
      client.end();
      assert.equal((await proxy.splices[0])!.bytesToClient, written);
      await proxy.close();
      await backend.close();
    });

    test("a client reset mid-splice ends it with reason error and closes the backend side", async () => {
      let backendGone: Promise<void> | undefined;
      const backend = await startBackend((socket) => {
        backendGone = goneEvent(socket);
        echo(socket);
      });
      const proxy = await startProxy(transport, backend.port);
      const client = await connectClient(proxy.port);
      client.on("error", () => {});
      client.write("ping");
      await readExactly(client, 4);
      client.resetAndDestroy();
      const result = await proxy.splices[0]!;
      assert.equal(result.reason, "error");
      assert.equal(result.bytesFromClient, 4);
      await backendGone;
      await proxy.close();
      await backend.close();
    });

    test("half-close: client ends writing and still receives the reply", async () => {
      const backend = await startBackend((socket) => {
        readAll(socket).then((request) => {
          setTimeout(() => socket.end(`got:${request}`), 50); // reply well after the client's FIN
        });
      });
      const proxy = await startProxy(transport, backend.port);
      const client = await connectClient(proxy.port);
      const reply = readAll(client);
      client.end("question");
      assert.equal((await reply).toString(), "got:question");
      assert.deepEqual(await proxy.splices[0], { bytesFromClient: 8, bytesToClient: 12, reason: "eof" });
      await proxy.close();
      await backend.close();
    });

    test("half-close: backend ends first and the client can still send", async () => {
      let late: Promise<Buffer> | undefined;
      const backend = await startBackend((socket) => {
        late = readAll(socket);
        socket.end("bye");
      });
      const proxy = await startProxy(transport, backend.port);
      const client = await connectClient(proxy.port);
      assert.equal((await readAll(client)).toString(), "bye");
      await ioRoundTrip(); // the proxy has seen the backend's FIN: the other direction must stay open
      client.end("after-your-fin");
      assert.equal((await late!).toString(), "after-your-fin");
      assert.deepEqual(await proxy.splices[0], { bytesFromClient: 14, bytesToClient: 3, reason: "eof" });
      await proxy.close();
      await backend.close();
    });

    // When the idle timeout fires (never early, at most 25 % late) and that traffic resets it is the
    // idle watch's logic, tested on a fake clock (test/runtime/idle-watch.test.ts). Here: the adapter
    // counts bytes as they move (the watch sees traffic live) and an idle end closes both sockets.
    test("idle timeout closes both sides with reason idle; traffic keeps it open", async () => {
      let backendClosed: Promise<void> | undefined;
      const backend = await startBackend((socket) => {
        backendClosed = goneEvent(socket);
        echo(socket);
      });
      const proxy = await startProxy(transport, backend.port, { idleTimeoutMs: 200 });
      const client = await connectClient(proxy.port);
      const ended = goneEvent(client).then(() => "closed");
      for (let i = 0; i < 6; i++) {
        client.write("tick"); // a round trip about every 50 ms, 300 ms in all: never idle for 200 ms
        const echoed = await Promise.race([readExactly(client, 4).then(() => "echoed"), ended]);
        assert.equal(echoed, "echoed", `closed while traffic was flowing (tick ${i})`);
        await sleep(50);
      }
      const result = await proxy.splices[0]!;
      assert.equal(result.reason, "idle");
      assert.deepEqual([result.bytesFromClient, result.bytesToClient], [24, 24]);
      await goneEvent(client);
      await backendClosed;
      await proxy.close();
      await backend.close();
    });

    test("abort closes both sides with reason aborted", async () => {
      let backendClosed: Promise<void> | undefined;
      const backend = await startBackend((socket) => {
        backendClosed = goneEvent(socket);
        echo(socket);
      });
      const proxy = await startProxy(transport, backend.port);
      const client = await connectClient(proxy.port);
      const clientClosed = goneEvent(client);
      client.on("error", () => {});
      client.write("ping");
      await readExactly(client, 4);
      proxy.aborts[0]!();
      const result = await proxy.splices[0]!;
      assert.equal(result.reason, "aborted");
      assert.equal(result.bytesFromClient, 4);
      assert.equal(result.bytesToClient, 4);
      await clientClosed;
      await backendClosed;
      await proxy.close();
      await backend.close();
    });

    test("connect to a closed port rejects with a clear ECONNREFUSED error", async () => {
      const port = await closedPort();
      await assert.rejects(transport.connect({ host: loopback, port }, 2000), {
        message: `connect ECONNREFUSED 127.0.0.1:${port}`,
        code: "ECONNREFUSED",
      });
    });

    test("connect to an unknown hostname rejects with a clear error", async () => {
      await assert.rejects(transport.connect({ host: "no-such-host.invalid", port: 80 }, 2000), (error: Error) => {
        assert.match(error.message, /^connect \S+ no-such-host\.invalid:80$/);
        return true;
      });
    });

    test("connect timeout rejects in time and leaves no socket behind", { timeout: 20_000 }, async () => {
      const stalled = await startStalledListener(transport.runtime);
      let fillers: net.Socket[] = [];
      try {
        fillers = await fillAcceptQueue(stalled.port);
        const started = Date.now();
        // Unanswered, the connect would hang until the kernel gives up (minutes): the adapter's timer
        // ends it. Not before its time (a timer never fires early); how late is load, not the adapter.
        await assert.rejects(transport.connect({ host: loopback, port: stalled.port }, 300), {
          message: `connect timeout after 300 ms to 127.0.0.1:${stalled.port}`,
          code: "ETIMEDOUT",
        });
        const elapsed = Date.now() - started;
        assert.ok(elapsed >= 250, `rejected after ${elapsed} ms, before its 300 ms timeout`);
        // Let the child accept again: a connect that was not really cancelled completes at the next
        // SYN retry (~1 s) and must then be closed by the adapter at once (Bun cannot cancel one). Wait
        // until no socket of ours is connecting or connected to the child any more: at once for a
        // cancelled connect, after the retry for Bun's; a leaked one never gets there.
        for (const filler of fillers) filler.destroy();
        stalled.resume();
        if (liveConnectsTo(stalled.port) !== null) {
          for (let i = 0; i < 500 && liveConnectsTo(stalled.port)! > 0; i++) await sleep(20);
          assert.equal(liveConnectsTo(stalled.port), 0, "a timed-out connect left a connection open (10 s after)");
        } else {
          await sleep(2500); // no /proc/net/tcp (not Linux): give a late connect its SYN retry
          assert.equal(stalled.openCount(), 0, "a timed-out connect left a connection open");
        }
      } finally {
        for (const filler of fillers) filler.destroy();
        stalled.kill();
      }
    });

    test("connect by hostname (localhost) to a dual-stack backend", async () => {
      const backend = await startBackend(echo, "::");
      const proxy = await startProxy(transport, backend.port, { backendHost: "localhost" });
      const client = await connectClient(proxy.port);
      const reply = readAll(client);
      client.end("by-name");
      assert.equal((await reply).toString(), "by-name");
      await proxy.close();
      await backend.close();
    });

    test("listener close refuses new connects but keeps established ones", async () => {
      const backend = await startBackend(echo);
      const proxy = await startProxy(transport, backend.port);
      const client = await connectClient(proxy.port);
      client.write("one");
      assert.equal((await readExactly(client, 3)).toString(), "one");
      await proxy.close();
      await assert.rejects(connectClient(proxy.port), { code: "ECONNREFUSED" });
      const reply = readAll(client);
      client.end("two");
      assert.equal((await reply).toString(), "two"); // "one" was consumed above
      assert.deepEqual(await proxy.splices[0], { bytesFromClient: 6, bytesToClient: 6, reason: "eof" });
      await backend.close();
    });

    test("IPv6: listen on ::1 and connect to ::1", async (t) => {
      if (!(await ipv6Available())) {
        t.skip("no IPv6 loopback on this machine");
        return;
      }
      const backend = await startBackend(echo, "::1");
      const proxy = await startProxy(transport, backend.port, { host: "::1", backendHost: "::1" });
      assert.equal(proxy.listener.address.host, "::1");
      const client = await connectClient(proxy.port, "::1");
      const reply = readAll(client);
      client.end("six");
      assert.equal((await reply).toString(), "six");
      assert.equal((await proxy.splices[0])!.reason, "eof");
      await proxy.close();
      await backend.close();
    });

    test("listen on :: accepts IPv4 clients; listener reports its address", async () => {
      const clients: ClientSocket[] = [];
      const listener = await transport.listen({ host: "::", port: 0 }, (client) => {
        clients.push(client);
        client.close();
      });
      leftovers.add(() => listener.close());
      assert.equal(listener.runtime, transport.runtime);
      assert.ok(listener.address.port > 0);
      const client = await connectClient(listener.address.port, loopback);
      await goneEvent(client.resume());
      assert.equal(clients.length, 1);
      assert.match(clients[0]!.remoteAddress, /127\.0\.0\.1$/);
      assert.ok(clients[0]!.remotePort > 0);
      await listener.close();
    });

    test("a client closing before splice resolves `closed`", async () => {
      let accepted!: (client: ClientSocket) => void;
      const got = new Promise<ClientSocket>((resolve) => (accepted = resolve));
      const listener = await transport.listen({ host: loopback, port: 0 }, accepted);
      leftovers.add(() => listener.close());
      const client = await connectClient(listener.address.port);
      const server = await got;
      let closed = false;
      server.closed.then(() => (closed = true));
      await new Promise((resolve) => client.write("early bytes", resolve)); // bytes are no close
      await ioRoundTrip();
      assert.equal(closed, false, "closed resolved while the client was still there");
      client.destroy();
      await server.closed;
      server.close();
      await listener.close();
    });

    test("close() on an accepted client before splice closes it and resolves `closed`", async () => {
      let accepted!: (client: ClientSocket) => void;
      const got = new Promise<ClientSocket>((resolve) => (accepted = resolve));
      const listener = await transport.listen({ host: loopback, port: 0 }, accepted);
      leftovers.add(() => listener.close());
      const client = await connectClient(listener.address.port);
      const clientClosed = goneEvent(client.resume());
      const server = await got;
      server.close();
      await server.closed;
      await clientClosed;
      await listener.close();
    });

    test("an upstream's `closed` resolves when the backend closes or ends it before splice (pooled sockets)", async () => {
      const sockets: net.Socket[] = [];
      const greeted: Promise<unknown>[] = [];
      const backend = await startBackend((socket) => {
        sockets.push(socket);
        // A greeting waits in the upstream socket; it must not count as a close.
        greeted.push(new Promise((resolve) => socket.write("hi\n", resolve)));
      });
      for (const [i, how] of (["destroy", "end"] as const).entries()) {
        const upstream = await transport.connect({ host: loopback, port: backend.port }, 2000);
        leftovers.add(() => upstream.close());
        let closed = false;
        void upstream.closed.then(() => (closed = true));
        for (let wait = 0; wait < 1000 && greeted.length <= i; wait++) await sleep(5);
        await greeted[i];
        await ioRoundTrip();
        assert.equal(closed, false, `${how}: closed resolved while the backend kept the connection`);
        sockets.at(-1)![how]();
        await upstream.closed;
        upstream.close();
      }
      await backend.close();
    });

    test("200 concurrent short connections", { timeout: 60_000 }, async () => {
      const backend = await startBackend(echo);
      const proxy = await startProxy(transport, backend.port);
      const count = 200;
      const replies = await Promise.all(
        Array.from({ length: count }, async (_, i) => {
          const client = await connectClient(proxy.port);
          const reply = readAll(client);
          client.end(`conn-${i}`);
          return (await reply).toString();
        }),
      );
      replies.forEach((reply, i) => assert.equal(reply, `conn-${i}`));
      const results = await Promise.all(proxy.splices);
      assert.equal(results.length, count);
      const moved = results.reduce((sum, r) => sum + r.bytesFromClient + r.bytesToClient, 0);
      const expected = replies.reduce((sum, r) => sum + 2 * r.length, 0);
      assert.equal(moved, expected);
      assert.ok(results.every((r) => r.reason === "eof"));
      await proxy.close();
      await backend.close();
    });

    test("listen on a port in use rejects with a clear EADDRINUSE error", async () => {
      const taken = await startBackend(echo);
      await assert.rejects(transport.listen({ host: loopback, port: taken.port }, () => {}), {
        message: `listen EADDRINUSE 127.0.0.1:${taken.port}`,
        code: "EADDRINUSE",
      });
      await taken.close();
    });

    // ------------------------------------------------ first bytes before splice (PROXY header)

    /** A proxy whose onClient is the test's own: it gets the ClientSocket before any splice. */
    async function listenRaw(onClient: (client: ClientSocket) => void, host = loopback): Promise<Listener> {
      const listener = await transport.listen({ host, port: 0 }, onClient);
      leftovers.add(() => listener.close());
      return listener;
    }

    test("peekEarly waits for bytes (kept buffered), skipEarly drops a prefix, the rest and later bytes reach the upstream", async () => {
      let received: Promise<Buffer> | undefined;
      const backend = await startBackend((socket) => {
        received = readAll(socket);
        received.then(() => socket.end());
      });
      let splice: Promise<SpliceResult> | undefined;
      const peeks: string[] = [];
      const listener = await listenRaw((client) => {
        void (async () => {
          peeks.push(Buffer.from(await client.peekEarly(0)).toString());
          const first = await client.peekEarly(3);
          peeks.push(Buffer.from(first).toString());
          const more = await client.peekEarly(9);
          peeks.push(Buffer.from(more).toString());
          client.skipEarly(4); // "HEAD"
          const upstream = await transport.connect({ host: loopback, port: backend.port }, 2000);
          splice = transport.splice(client, upstream, { idleTimeoutMs: 0 }).done;
        })();
      });
      const client = await connectClient(listener.address.port);
      client.write("HEA");
      while (peeks.length < 2) await sleep(5);
      client.write("D-rest");
      while (splice === undefined) await sleep(5);
      client.end("-late");
      const reply = readAll(client);
      assert.equal((await received!).toString(), "-rest-late");
      await reply;
      assert.ok(peeks[0] === "" || peeks[0] === "HEA", "peekEarly(0): what is there now, without waiting");
      assert.deepEqual(peeks.slice(1), ["HEA", "HEAD-rest"]);
      assert.equal((await splice).bytesFromClient, "-rest-late".length, "the dropped bytes are not counted");
    });

    test("peekEarly resolves with fewer bytes when the client stops sending (FIN) or leaves", async () => {
      const results: string[] = [];
      const listener = await listenRaw((client) => {
        void client.peekEarly(100).then((bytes) => {
          results.push(Buffer.from(bytes).toString());
          client.close();
        });
      });
      const finished = await connectClient(listener.address.port);
      finished.end("ab");
      await goneEvent(finished);
      const left = await connectClient(listener.address.port);
      left.write("xyz");
      await sleep(50);
      left.destroy();
      while (results.length < 2) await sleep(5);
      assert.deepEqual(results.sort(), ["ab", "xyz"]);
    });

    test("upstreamPrefix reaches the upstream before any client byte (early ones too) and is not counted", async () => {
      let received: Promise<Buffer> | undefined;
      const backend = await startBackend((socket) => {
        received = readAll(socket);
        received.then(() => socket.end());
      });
      let splice: Promise<SpliceResult> | undefined;
      const listener = await listenRaw((client) => {
        void (async () => {
          await client.peekEarly(5); // "early" is buffered before the splice
          const upstream = await transport.connect({ host: loopback, port: backend.port }, 2000);
          splice = transport.splice(client, upstream, { idleTimeoutMs: 0, upstreamPrefix: Buffer.from("PROXY UNKNOWN\r\n") }).done;
        })();
      });
      const client = await connectClient(listener.address.port);
      client.write("early");
      while (splice === undefined) await sleep(5);
      client.end("+late");
      await readAll(client);
      assert.equal((await received!).toString(), "PROXY UNKNOWN\r\nearly+late");
      assert.equal((await splice).bytesFromClient, 10);
    });

    test("a client's localAddress and localPort are the address it connected to", async () => {
      const seen: string[] = [];
      const v6 = await ipv6Available();
      const hosts = v6 ? [loopback, "::1"] : [loopback];
      for (const host of hosts) {
        const listener = await listenRaw((client) => {
          seen.push(`${client.localAddress} ${client.localPort} ${client.remoteAddress}`);
          client.close();
        }, host);
        const client = await connectClient(listener.address.port, host);
        await goneEvent(client);
        assert.equal(seen.at(-1), `${host} ${listener.address.port} ${host}`);
      }
    });
  });
}

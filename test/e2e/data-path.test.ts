// End to end through the real proxy process: bulk bytes, half-close, idle timeout, hot reload, a
// corrupt store mid-run.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { createHash, randomBytes } from "node:crypto";
import { copyFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startBackend, whoAnswers, holdConnection, type TestBackend } from "../fixtures/backends.ts";
import { createRoutingDb, type RoutingDb } from "../fixtures/routing-db.ts";
import { startProxy, type ProxyProcess } from "../fixtures/proxy-process.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("data path", () => {
  let backend: TestBackend;
  let db: RoutingDb;
  let proxy: ProxyProcess;

  before(async () => {
    backend = await startBackend("echo", { greet: false });
    db = await createRoutingDb([{ id: "echo", region: "sa", port: backend.port }]);
    proxy = await startProxy({ EDGEPROXY_DB_PATH: db.path, EDGEPROXY_IDLE_TIMEOUT_SECS: "1", EDGEPROXY_DB_RELOAD_SECS: "1" });
  });
  after(async () => {
    await proxy?.stop();
    db?.close();
    await backend?.close();
  });

  test("256 MiB through the proxy and back, checksums match", async () => {
    const total = 256 * 1024 * 1024;
    const chunk = randomBytes(1024 * 1024);
    const sent = createHash("sha256"), received = createHash("sha256");
    let got = 0;
    const socket = net.connect({ port: proxy.port, host: "127.0.0.1" });
    const done = new Promise<void>((resolve, reject) => {
      socket.on("data", (d: Buffer) => { received.update(d); got += d.length; });
      socket.on("end", () => resolve());
      socket.on("error", reject);
    });
    for (let off = 0; off < total; off += chunk.length) {
      sent.update(chunk);
      if (!socket.write(chunk)) await new Promise((r) => socket.once("drain", r));
    }
    socket.end(); // half-close: the echo backend ends its side once it has echoed everything
    await done;
    assert.equal(got, total);
    assert.equal(received.digest("hex"), sent.digest("hex"));
  });

  test("half-close: the client ends its side and still receives the reply", async () => {
    const socket = net.connect({ port: proxy.port, host: "127.0.0.1", allowHalfOpen: true });
    let reply = "";
    socket.setEncoding("utf8");
    socket.on("data", (d: string) => { reply += d; });
    await new Promise((r) => socket.once("connect", r));
    socket.end("hello, then FIN");
    await new Promise((r) => socket.once("end", r));
    assert.equal(reply, "hello, then FIN");
    socket.destroy();
  });

  test("half-close: the backend ends first and the client can still send", async () => {
    const server = net.createServer({ allowHalfOpen: true }, (s) => {
      s.end("bye\n"); // backend is done talking, but keeps reading
      let got = "";
      s.setEncoding("utf8");
      s.on("data", (d: string) => { got += d; });
      s.on("end", () => { received = got; });
    });
    let received = "";
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    db.insert({ id: "half", region: "zz", port: (server.address() as net.AddressInfo).port });
    const applied = proxy.nextLog("routes applied");
    db.exec("UPDATE backends SET healthy = 0 WHERE id = 'echo'");
    await applied;
    try {
      const socket = net.connect({ port: proxy.port, host: "127.0.0.1", allowHalfOpen: true });
      let text = "";
      socket.setEncoding("utf8");
      socket.on("data", (d: string) => { text += d; });
      await new Promise((r) => socket.once("end", r));
      assert.equal(text, "bye\n");
      socket.end("still talking");
      for (let i = 0; i < 50 && received === ""; i++) await sleep(20);
      assert.equal(received, "still talking");
    } finally {
      const restored = proxy.nextLog("routes applied");
      db.exec("UPDATE backends SET healthy = 1 WHERE id = 'echo'");
      db.exec("DELETE FROM backends WHERE id = 'half'");
      server.close();
      await restored;
    }
  });

  // When it closes (never before the timeout, at most 25 % after) is the idle watch's logic, tested on
  // a fake clock (test/runtime/idle-watch.test.ts); that the setting reaches every splice is checked
  // in-process (test/composition/edge-proxy.test.ts). Here: the real proxy closes a quiet connection.
  test("an idle connection is closed after the idle timeout", async () => {
    const socket = net.connect({ port: proxy.port, host: "127.0.0.1" });
    let received = "";
    socket.on("data", (d: Buffer) => { received += d.toString("utf8"); }); // reading, so the proxy's FIN is seen
    await new Promise((r) => socket.once("connect", r));
    socket.write("x\n");
    const closed = await Promise.race([
      new Promise((r) => socket.once("close", () => r(true))),
      sleep(10_000).then(() => false),
    ]);
    socket.destroy();
    assert.ok(closed, "not closed within 10 s (idle timeout 1 s)");
    assert.ok(received.endsWith("x\n"), `the connection worked before it went quiet: ${JSON.stringify(received)}`);
  });
});

describe("routing store changes while traffic flows", () => {
  const backends: Record<string, TestBackend> = {};
  let db: RoutingDb;
  let proxy: ProxyProcess;

  before(async () => {
    for (const id of ["a", "b", "c"]) backends[id] = await startBackend(id);
    db = await createRoutingDb([{ id: "a", region: "sa", port: backends.a!.port }]);
    proxy = await startProxy({ EDGEPROXY_DB_PATH: db.path, EDGEPROXY_DB_RELOAD_SECS: "1", EDGEPROXY_BINDING_TTL_SECS: "1" });
  });
  after(async () => {
    await proxy?.stop();
    db?.close();
    await Promise.all(Object.values(backends).map((b) => b.close()));
  });

  async function echoes(socket: net.Socket, text: string): Promise<boolean> {
    return new Promise((resolve) => {
      let got = "";
      const timer = setTimeout(() => { socket.off("data", onData); resolve(false); }, 3000);
      const onData = (d: Buffer) => {
        got += d.toString("utf8");
        if (got === text) { clearTimeout(timer); socket.off("data", onData); resolve(true); }
      };
      socket.on("data", onData);
      socket.write(text);
    });
  }

  const clients = (n: number, net3: number) => Array.from({ length: n }, (_, i) => `127.0.${net3}.${i + 1}`);
  const answers = async (sources: string[]) => new Set(await Promise.all(sources.map((s) => whoAnswers(proxy.port, s))));

  let applied: Promise<unknown>;

  test("add, disable and delete rows without dropping a connection", async () => {
    const held = [await holdConnection(proxy.port, "127.0.60.1")];
    assert.equal(held[0]!.id, "a");

    applied = proxy.nextLog("routes applied");
    db.insert({ id: "b", region: "sa", port: backends.b!.port });
    await applied;
    assert.deepEqual(await answers(clients(30, 61)), new Set(["a", "b"]), "the added row receives traffic");
    held.push(await holdConnection(proxy.port, "127.0.60.2"), await holdConnection(proxy.port, "127.0.60.3"));

    applied = proxy.nextLog("routes applied");
    db.exec("UPDATE backends SET healthy = 0 WHERE id = 'a'");
    await applied;
    assert.deepEqual(await answers(clients(30, 62)), new Set(["b"]), "a disabled row gets no new traffic");

    applied = proxy.nextLog("routes applied");
    db.insert({ id: "c", region: "sa", port: backends.c!.port });
    db.exec("DELETE FROM backends WHERE id = 'b'");
    await applied;
    assert.deepEqual(await answers(clients(30, 63)), new Set(["c"]), "a deleted row gets no new traffic");

    for (const [i, h] of held.entries()) assert.ok(await echoes(h.socket, `still here ${i}`), `connection ${i} to ${h.id} survived`);
    for (const h of held) h.socket.destroy();
  });

  test("a routing.db replaced by a corrupt file keeps the last good snapshot; a good replacement is picked up", async () => {
    applied = proxy.nextLog("routes applied");
    db.exec("UPDATE backends SET healthy = 1 WHERE id = 'a'");
    await applied;
    assert.deepEqual(await answers(clients(20, 64)), new Set(["a", "c"]));
    // An operator deploys a broken file the usual way: write it next to the store, then mv it over
    // (after a checkpoint: SQLite would otherwise read the old pages from the -wal file it leaves).
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    const broken = join(db.dir, "broken.db");
    writeFileSync(broken, randomBytes(64 * 1024));
    renameSync(broken, db.path);
    await proxy.waitForLog("routing store unreadable", 5000);
    assert.deepEqual(await answers(clients(20, 65)), new Set(["a", "c"]), "still routing on the last good snapshot");
    assert.equal(proxy.child.exitCode, null, "no crash");
    // Then a good one, with only "b" in it.
    const good = await createRoutingDb([{ id: "b", region: "sa", port: backends.b!.port }]);
    try {
      good.exec("PRAGMA wal_checkpoint(TRUNCATE)"); // everything in the main file before copying it
      copyFileSync(good.path, join(db.dir, "good.db"));
      applied = proxy.nextLog("routes applied");
      renameSync(join(db.dir, "good.db"), db.path);
      await proxy.waitForLog("routing store readable again", 5000);
      await applied;
      assert.deepEqual(await answers(clients(20, 66)), new Set(["b"]));
    } finally {
      good.close();
    }
  });
});

// The connection pool's bookkeeping with fake sockets and fake time (the real sockets: test/e2e/backend-pool).
import { test } from "node:test";
import assert from "node:assert/strict";
import { BackendPool, type PoolSettings } from "../../src/pool/backend-pool.ts";
import { silentLogger } from "../../src/lifecycle/log.ts";
import type { Backend } from "../../src/core/types.ts";
import type { HostPort, UpstreamSocket } from "../../src/runtime/types.ts";

const backend = (id: string, port = 9000): Backend => ({ id, app: "", region: "sa", country: null, host: "127.0.0.1", port, healthy: true, weight: 1, softLimit: 10, hardLimit: 20, version: 1 });
const tick = () => new Promise((r) => setTimeout(r, 0));

class FakeSocket implements UpstreamSocket {
  static made = 0;
  readonly n = ++FakeSocket.made;
  closedByUs = false;
  readonly closed: Promise<void>;
  #resolve!: () => void;
  readonly target: HostPort;
  constructor(target: HostPort) {
    this.target = target;
    this.closed = new Promise((r) => (this.#resolve = r));
  }
  /** The backend sends FIN / resets. */
  hangUp(): void {
    this.#resolve();
  }
  close(): void {
    this.closedByUs = true;
    this.#resolve();
  }
}

function fixture(settings: Partial<PoolSettings> = {}) {
  let nowMs = 1_000;
  const sockets: FakeSocket[] = [];
  let refuse = false;
  const routable = new Map<string, Backend | null>();
  const connects: { target: HostPort; resolve: () => void; reject: (e: Error) => void }[] = [];
  const pool = new BackendPool({
    connect: (target) => new Promise((resolve, reject) => {
      if (refuse) return reject(new Error("connect ECONNREFUSED"));
      const socket = new FakeSocket(target);
      sockets.push(socket);
      resolve(socket);
    }),
    settings: () => ({ maxPerBackend: 3, idleTimeoutMs: 60_000, maxLifetimeMs: 300_000, connectTimeoutMs: 5000, ...settings }),
    routable: (id) => (routable.has(id) ? routable.get(id)! : backend(id)),
    now: () => nowMs,
    log: silentLogger,
  });
  return {
    pool, sockets, routable, connects,
    advance: (ms: number) => { nowMs += ms; },
    refuse: (on: boolean) => { refuse = on; },
  };
}

test("the first take misses and fills the pool; later takes get pooled sockets, newest first, and refill", async () => {
  const f = fixture();
  const b = backend("a");
  assert.equal(f.pool.take(b), null);
  await tick();
  assert.equal(f.pool.idleCount("a"), 3);
  const first = f.pool.take(b) as FakeSocket;
  assert.equal(first, f.sockets[2], "the freshest socket is handed out");
  assert.equal(first.closedByUs, false);
  await tick();
  assert.equal(f.pool.idleCount("a"), 3, "replaced in the background");
  assert.equal(f.sockets.length, 4);
  assert.deepEqual(f.pool.stats, { hits: 1, misses: 1, connectFailures: 0, dropped: 0 });
});

test("a socket the backend closed while idle is dropped, never handed out", async () => {
  const f = fixture({ maxPerBackend: 2 });
  f.pool.take(backend("a"));
  await tick();
  f.sockets[1]!.hangUp();
  f.sockets[0]!.hangUp();
  await tick();
  assert.equal(f.pool.idleCount("a"), 0);
  assert.ok(f.sockets.every((s) => s.closedByUs), "our side is closed too");
  assert.equal(f.pool.take(backend("a")), null);
  assert.equal(f.pool.stats.dropped, 2);
});

test("sockets past the idle timeout or the max lifetime are dropped and not replaced without demand", async () => {
  const f = fixture({ idleTimeoutMs: 10_000, maxLifetimeMs: 20_000 });
  f.pool.take(backend("a"));
  await tick();
  f.advance(9_999);
  f.pool.sweep();
  assert.equal(f.pool.idleCount("a"), 3);
  f.advance(1);
  f.pool.sweep();
  assert.equal(f.pool.idleCount("a"), 0);
  assert.equal(f.sockets.filter((s) => s.closedByUs).length, 3);
  await tick();
  assert.equal(f.sockets.length, 3, "no refill without a client");

  const g = fixture({ idleTimeoutMs: 60_000, maxLifetimeMs: 5_000 });
  g.pool.take(backend("a"));
  await tick();
  g.advance(5_000);
  assert.equal(g.pool.take(backend("a")), null, "expired sockets are not handed out even before a sweep");
  assert.equal(g.sockets.slice(0, 3).filter((s) => s.closedByUs).length, 3);
});

test("a backend that left, is not routable or changed address loses its pool", async () => {
  const f = fixture();
  f.pool.take(backend("a"));
  f.pool.take(backend("b"));
  f.pool.take(backend("c"));
  await tick();
  f.routable.set("a", null); // removed, disabled or probe down
  f.routable.set("b", backend("b", 9001)); // moved
  f.pool.sweep();
  assert.equal(f.pool.idleCount("a"), 0);
  assert.equal(f.pool.idleCount("b"), 0);
  assert.equal(f.pool.idleCount("c"), 3);
  // A take with the new address drains the old sockets at once, before any sweep.
  const g = fixture();
  g.pool.take(backend("a"));
  await tick();
  assert.equal(g.pool.take(backend("a", 9002)), null);
  assert.equal(g.sockets.slice(0, 3).filter((s) => s.closedByUs).length, 3);
  await tick();
  assert.ok(g.sockets.slice(3).every((s) => s.target.port === 9002));
});

test("a failed background connect pauses refills for a second", async () => {
  const f = fixture();
  f.refuse(true);
  f.pool.take(backend("a"));
  await tick();
  assert.equal(f.pool.stats.connectFailures, 3);
  f.refuse(false);
  f.pool.take(backend("a"));
  await tick();
  assert.equal(f.sockets.length, 0, "still backing off");
  f.advance(1000);
  f.pool.take(backend("a"));
  await tick();
  assert.equal(f.pool.idleCount("a"), 3);
});

test("close() closes idle sockets and those whose connect completes afterwards; take then returns null", async () => {
  const f = fixture();
  f.pool.take(backend("a"));
  await tick();
  let late!: (s: UpstreamSocket) => void;
  const slow = new BackendPool({
    connect: () => new Promise((resolve) => (late = resolve)),
    settings: () => ({ maxPerBackend: 1, idleTimeoutMs: 60_000, maxLifetimeMs: 300_000, connectTimeoutMs: 5000 }),
    routable: (id) => backend(id), now: () => 0, log: silentLogger,
  });
  slow.take(backend("x"));
  await tick();
  f.pool.close();
  slow.close();
  assert.ok(f.sockets.every((s) => s.closedByUs));
  assert.equal(f.pool.take(backend("a")), null);
  const socket = new FakeSocket({ host: "127.0.0.1", port: 1 });
  late(socket);
  await tick();
  assert.equal(socket.closedByUs, true);
});

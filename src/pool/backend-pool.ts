// Pre-connected backend sockets. An L4 proxy cannot share a backend connection: each pooled socket
// serves exactly one client and is replaced in the background. A backend's pool fills on demand (the
// first client routed there starts it) up to maxPerBackend sockets idle or connecting; each take
// starts one replacement. A socket is dropped when the backend closes it while it waits, when it has
// waited past the idle timeout or lived past the max lifetime (both count from its connect: a pooled
// socket is never used before it is handed out), and the whole pool of a backend is closed when the
// backend leaves the routing table, changes address, or stops being routable (disabled, probe down).
// A backend nobody asks for no longer gets sockets: expired ones are not replaced.
//
// Bytes a backend sends on connect (a greeting) stay buffered in the socket and reach the client
// first, as with a fresh connect (runtime/types.ts UpstreamSocket).
import type { Backend } from "../core/types.ts";
import type { HostPort, UpstreamSocket } from "../runtime/types.ts";
import type { UpstreamPool } from "../proxy/upstream-pool.ts";
import type { Logger } from "../lifecycle/log.ts";
import type { Component } from "../core/component.ts";

export interface PoolSettings {
  /** Off: take() hands out nothing and the next sweep closes every idle socket (read live). */
  readonly enabled?: boolean;
  readonly maxPerBackend: number;
  readonly idleTimeoutMs: number;
  readonly maxLifetimeMs: number;
  readonly connectTimeoutMs: number;
}

export interface BackendPoolDeps {
  readonly connect: (target: HostPort, timeoutMs: number) => Promise<UpstreamSocket>;
  /** Read on every take and sweep (a config reload may change them). */
  readonly settings: () => PoolSettings;
  /** The backend as routed now, or null when it left the table or must not get new clients. */
  readonly routable: (id: string) => Backend | null;
  readonly now: () => number;
  readonly log: Logger;
}

export interface PoolStats {
  /** Clients given a pooled socket. */
  hits: number;
  /** Clients for which none was ready (they connected themselves). */
  misses: number;
  /** Background connects that failed. */
  connectFailures: number;
  /** Idle sockets dropped: expired, closed by the backend, or their backend gone. */
  dropped: number;
}

interface Idle {
  readonly socket: UpstreamSocket;
  readonly connectedAtMs: number;
  gone: boolean;
}

class BackendSockets {
  /** Newest last: take() hands out the freshest socket, the oldest ones expire first. */
  idle: Idle[] = [];
  connecting = 0;
  lastDemandMs: number;
  /** A failed background connect pauses refills for a moment (no connect storm at a dead backend). */
  failedAtMs = -Infinity;
  closed = false;

  readonly host: string;
  readonly port: number;
  constructor(host: string, port: number, nowMs: number) {
    this.host = host;
    this.port = port;
    this.lastDemandMs = nowMs;
  }
}

/** After a failed background connect, refills wait this long. */
const REFILL_BACKOFF_MS = 1000;
/** How often idle sockets are checked for expiry and removed backends. */
const SWEEP_MS = 1000;

export class BackendPool implements UpstreamPool, Component {
  readonly name = "backend-pool";
  readonly stats: PoolStats = { hits: 0, misses: 0, connectFailures: 0, dropped: 0 };
  readonly #deps: BackendPoolDeps;
  readonly #pools = new Map<string, BackendSockets>();
  #closed = false;

  constructor(deps: BackendPoolDeps) {
    this.#deps = deps;
  }

  /** Idle sockets ready for `id` (metrics, tests). */
  idleCount(id: string): number {
    return this.#pools.get(id)?.idle.length ?? 0;
  }

  /** Idle sockets over all backends. */
  get idleTotal(): number {
    let n = 0;
    for (const pool of this.#pools.values()) n += pool.idle.length;
    return n;
  }

  start(): void {}

  periodMs(): number {
    return SWEEP_MS;
  }

  tick(): void {
    this.sweep();
  }

  stop(): void {
    this.close();
  }

  take(backend: Backend): UpstreamSocket | null {
    if (this.#closed) return null;
    const settings = this.#deps.settings();
    if (settings.enabled === false) return null;
    const nowMs = this.#deps.now();
    let pool = this.#pools.get(backend.id);
    if (pool !== undefined && (pool.host !== backend.host || pool.port !== backend.port)) {
      this.#drain(backend.id, pool);
      pool = undefined;
    }
    if (pool === undefined) this.#pools.set(backend.id, (pool = new BackendSockets(backend.host, backend.port, nowMs)));
    pool.lastDemandMs = nowMs;
    let socket: UpstreamSocket | null = null;
    while (socket === null && pool.idle.length > 0) {
      const entry = pool.idle.pop()!;
      if (entry.gone) continue;
      entry.gone = true;
      if (this.#expired(entry, settings, nowMs)) {
        this.#drop(entry);
        continue;
      }
      socket = entry.socket;
    }
    if (socket === null) this.stats.misses++;
    else this.stats.hits++;
    // After this turn: on a miss the client's own connect (made right after we return) goes out first.
    queueMicrotask(() => this.#refill(backend.id, pool, settings, nowMs));
    return socket;
  }

  /** Drops expired sockets and the pools of backends that left or are not routable now. */
  sweep(): void {
    if (this.#closed) return;
    const settings = this.#deps.settings();
    const nowMs = this.#deps.now();
    for (const [id, pool] of this.#pools) {
      const backend = settings.enabled === false ? null : this.#deps.routable(id);
      if (backend === null || backend.host !== pool.host || backend.port !== pool.port) {
        this.#drain(id, pool);
        continue;
      }
      const keep: Idle[] = [];
      for (const entry of pool.idle) {
        if (entry.gone) continue;
        if (this.#expired(entry, settings, nowMs)) {
          entry.gone = true;
          this.#drop(entry);
        } else {
          keep.push(entry);
        }
      }
      pool.idle = keep;
      // Nobody asked for this backend for a whole idle timeout: forget it (its sockets expired already).
      if (keep.length === 0 && pool.connecting === 0 && nowMs - pool.lastDemandMs >= settings.idleTimeoutMs) this.#pools.delete(id);
    }
  }

  /** Closes every idle socket; connects still under way close their socket when they complete. */
  close(): void {
    this.#closed = true;
    for (const [id, pool] of this.#pools) this.#drain(id, pool);
  }

  /** Closes one backend's pool now (e.g. its health check just failed). */
  drain(id: string): void {
    const pool = this.#pools.get(id);
    if (pool !== undefined) this.#drain(id, pool);
  }

  #expired(entry: Idle, settings: PoolSettings, nowMs: number): boolean {
    return nowMs - entry.connectedAtMs >= Math.min(settings.idleTimeoutMs, settings.maxLifetimeMs);
  }

  #drain(id: string, pool: BackendSockets): void {
    pool.closed = true;
    for (const entry of pool.idle) {
      if (entry.gone) continue;
      entry.gone = true;
      this.#drop(entry);
    }
    pool.idle = [];
    if (this.#pools.get(id) === pool) this.#pools.delete(id);
  }

  #drop(entry: Idle): void {
    this.stats.dropped++;
    entry.socket.close();
  }

  #refill(id: string, pool: BackendSockets, settings: PoolSettings, nowMs: number): void {
    if (this.#closed || pool.closed || nowMs - pool.failedAtMs < REFILL_BACKOFF_MS) return;
    let want = settings.maxPerBackend - pool.idle.length - pool.connecting;
    for (; want > 0; want--) {
      pool.connecting++;
      void this.#connectOne(id, pool, settings.connectTimeoutMs);
    }
  }

  async #connectOne(id: string, pool: BackendSockets, timeoutMs: number): Promise<void> {
    let socket: UpstreamSocket;
    try {
      socket = await this.#deps.connect({ host: pool.host, port: pool.port }, timeoutMs);
    } catch (err) {
      pool.connecting--;
      pool.failedAtMs = this.#deps.now();
      this.stats.connectFailures++;
      this.#deps.log.debug("pool connect failed", { backend: id, error: (err as Error).message });
      return;
    }
    pool.connecting--;
    if (this.#closed || pool.closed) {
      socket.close();
      return;
    }
    const entry: Idle = { socket, connectedAtMs: this.#deps.now(), gone: false };
    pool.idle.push(entry);
    void socket.closed.then(() => {
      if (entry.gone) return; // handed out or dropped already
      entry.gone = true;
      this.#drop(entry); // our side too: the backend sent FIN or reset
      const at = pool.idle.indexOf(entry);
      if (at >= 0) pool.idle.splice(at, 1);
    });
  }
}

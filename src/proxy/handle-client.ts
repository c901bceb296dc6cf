// One client connection: route → connect (timeout, failover to the next-best) → splice → release.
import type { ClientSocket, Splice, Transport } from "../runtime/types.ts";
import type { Logger } from "../core/logger.ts";
import type { Router } from "./router.ts";
import type { ConnectionObserver } from "./connection-observer.ts";
import type { RateGate } from "./rate-gate.ts";
import type { UpstreamPool } from "./upstream-pool.ts";
import { hostPort } from "../core/host-port.ts";

export interface ConnectionPolicy {
  readonly connectTimeoutMs: number;
  readonly connectAttempts: number;
  readonly idleTimeoutMs: number;
}

export interface ProxyCounters {
  accepted: number;
  active: number;
  noBackend: number;
  connectFailures: number;
  /** Connections refused by the rate limit (closed at once, not counted in accepted). */
  rateLimited: number;
  bytesFromClients: number;
  bytesToClients: number;
}

export interface ClientHandlerDeps {
  readonly transport: Transport;
  readonly router: Router;
  readonly policy: () => ConnectionPolicy;
  readonly log: Logger;
  readonly now: () => number;
  /** Metrics hooks; absent when metrics are disabled. */
  readonly observer?: ConnectionObserver;
  /** The accept gate's rate limit; absent = none. */
  readonly rateGate?: RateGate;
  /** Pre-connected backend sockets (EDGEPROXY_POOL_ENABLED); asked first, connect is the fallback. */
  readonly pool?: UpstreamPool;
}

export interface ClientHandler {
  (client: ClientSocket): void;
  readonly counters: Readonly<ProxyCounters>;
  /** Splices in progress (for shutdown). */
  readonly inFlight: ReadonlySet<Splice>;
}

export function createClientHandler(deps: ClientHandlerDeps): ClientHandler {
  const { transport, router, log, now, observer } = deps;
  const counters: ProxyCounters = { accepted: 0, active: 0, noBackend: 0, connectFailures: 0, rateLimited: 0, bytesFromClients: 0, bytesToClients: 0 };
  const inFlight = new Set<Splice>();

  async function handle(client: ClientSocket): Promise<void> {
    const policy = deps.policy();
    const attempts = router.begin(client.remoteAddress);
    let gone = false;
    void client.closed.then(() => { gone = true; });
    for (let i = 0; i < policy.connectAttempts && !gone; i++) {
      const decideStart = observer ? performance.now() : 0;
      const route = attempts.next(now());
      const connectStart = observer ? performance.now() : 0;
      if (observer) observer.decided((connectStart - decideStart) / 1000);
      if (route === null) break;
      const { backend } = route;
      let upstream;
      const pooled = deps.pool?.take(backend) ?? null;
      try {
        upstream = pooled ?? await transport.connect({ host: backend.host, port: backend.port }, policy.connectTimeoutMs);
      } catch (err) {
        attempts.failed(route, now());
        counters.connectFailures++;
        observer?.connectFailed(backend);
        log.warn("backend connect failed", { backend: backend.id, addr: hostPort(backend.host, backend.port), client: attempts.client, error: (err as Error).message });
        continue;
      }
      if (gone) {
        upstream.close();
        attempts.abandoned(route);
        return;
      }
      attempts.connected(route, now());
      // A pooled socket was connected earlier, in the background: its hand-over is not a connect time.
      if (observer) observer.connected(backend, pooled === null ? (performance.now() - connectStart) / 1000 : null);
      const splice = transport.splice(client, upstream, { idleTimeoutMs: policy.idleTimeoutMs });
      inFlight.add(splice);
      try {
        const result = await splice.done;
        counters.bytesFromClients += result.bytesFromClient;
        counters.bytesToClients += result.bytesToClient;
        log.debug("connection closed", { backend: backend.id, client: attempts.client, ...result });
      } finally {
        inFlight.delete(splice);
        router.release(route);
      }
      return;
    }
    if (!gone) {
      counters.noBackend++;
      log.debug("no backend available", { client: attempts.client });
    }
    client.close();
  }

  const { rateGate } = deps;
  const handler = ((client: ClientSocket) => {
    if (rateGate !== undefined && !rateGate(client.remoteAddress, now())) {
      counters.rateLimited++;
      client.close();
      return;
    }
    counters.accepted++;
    counters.active++;
    handle(client)
      .catch((err) => {
        log.error("connection handler failed", { error: (err as Error).stack ?? String(err) });
        client.close();
      })
      .finally(() => { counters.active--; });
  }) as ClientHandler;
  Object.defineProperty(handler, "counters", { value: counters });
  Object.defineProperty(handler, "inFlight", { value: inFlight });
  return handler;
}

// One client connection: route → connect (timeout, failover to the next-best) → splice → release.
import type { ClientSocket, Splice, Transport } from "../runtime/types.ts";
import type { Logger } from "../infra/log.ts";
import type { Router } from "./router.ts";
import type { UpstreamPool } from "./upstream-pool.ts";

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
  bytesFromClients: number;
  bytesToClients: number;
}

export interface ClientHandlerDeps {
  readonly transport: Transport;
  readonly router: Router;
  readonly policy: () => ConnectionPolicy;
  readonly log: Logger;
  readonly now: () => number;
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
  const { transport, router, log, now } = deps;
  const counters: ProxyCounters = { accepted: 0, active: 0, noBackend: 0, connectFailures: 0, bytesFromClients: 0, bytesToClients: 0 };
  const inFlight = new Set<Splice>();

  async function handle(client: ClientSocket): Promise<void> {
    const policy = deps.policy();
    const attempts = router.begin(client.remoteAddress);
    let gone = false;
    void client.closed.then(() => { gone = true; });
    for (let i = 0; i < policy.connectAttempts && !gone; i++) {
      const route = attempts.next(now());
      if (route === null) break;
      const { backend } = route;
      let upstream;
      try {
        upstream = deps.pool?.take(backend) ?? await transport.connect({ host: backend.host, port: backend.port }, policy.connectTimeoutMs);
      } catch (err) {
        attempts.failed(route);
        counters.connectFailures++;
        log.warn("backend connect failed", { backend: backend.id, addr: `${backend.host}:${backend.port}`, client: attempts.client, error: (err as Error).message });
        continue;
      }
      if (gone) {
        upstream.close();
        router.release(route);
        return;
      }
      attempts.connected(route, now());
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

  const handler = ((client: ClientSocket) => {
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

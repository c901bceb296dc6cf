// One client connection: route → connect (timeout, failover to the next-best) → splice → release.
import type { ClientSocket, Splice, Transport } from "../runtime/types.ts";
import type { Logger } from "../core/logger.ts";
import type { Router } from "./router.ts";
import type { ConnectionObserver } from "./connection-observer.ts";
import type { RateGate } from "./rate-gate.ts";
import type { UpstreamPool } from "./upstream-pool.ts";
import type { Backend } from "../core/types.ts";
import type { ConnectionOrigin, ProxyVersion } from "../core/proxy-protocol/header.ts";
import { encodeProxyHeader } from "../core/proxy-protocol/encode.ts";
import { hostPort } from "../core/host-port.ts";
import { RefusalLog } from "./refusal-log.ts";

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
  /** PROXY protocol (EDGEPROXY_PROXY_PROTOCOL*, proxy/proxy-protocol.ts); absent = off, no cost. */
  readonly proxyProtocol?: ProxyProtocolHooks;
}

export interface ProxyProtocolHooks {
  /** The header to send `backend` before the client's first byte, or null (asked per connection). */
  versionFor(backend: Backend): ProxyVersion | null;
  /** For a client that did not pass the accept gate: true when its first bytes are a PROXY header
   *  (it may not send one); it is then closed. Absent: not checked. */
  untrustedHeader?(client: ClientSocket): Promise<boolean>;
}

export interface ClientHandler {
  /** `origin`: the real client as a trusted PROXY header told it (proxy/proxy-header-gate.ts). */
  (client: ClientSocket, origin?: ConnectionOrigin): void;
  readonly counters: Readonly<ProxyCounters>;
  /** Splices in progress (for shutdown). */
  readonly inFlight: ReadonlySet<Splice>;
}

export function createClientHandler(deps: ClientHandlerDeps): ClientHandler {
  const { transport, router, log, now, observer, proxyProtocol } = deps;
  const counters: ProxyCounters = { accepted: 0, active: 0, noBackend: 0, connectFailures: 0, rateLimited: 0, bytesFromClients: 0, bytesToClients: 0 };
  const inFlight = new Set<Splice>();
  const refusals = new RefusalLog(log, now);

  async function handle(client: ClientSocket, origin: ConnectionOrigin | undefined): Promise<void> {
    const policy = deps.policy();
    const attempts = router.begin(origin?.sourceAddress ?? client.remoteAddress);
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
      let upstreamPrefix: Uint8Array | undefined;
      if (proxyProtocol !== undefined && !gone) {
        if (origin === undefined && (await proxyProtocol.untrustedHeader?.(client))) {
          gone = true; // refused (and counted) by the hook
        } else {
          const version = proxyProtocol.versionFor(backend);
          if (version !== null) upstreamPrefix = encodeProxyHeader(version, origin ?? originOf(client));
        }
      }
      if (gone) {
        upstream.close();
        attempts.abandoned(route);
        client.close();
        return;
      }
      attempts.connected(route, now());
      // A pooled socket was connected earlier, in the background: its hand-over is not a connect time.
      if (observer) observer.connected(backend, pooled === null ? (performance.now() - connectStart) / 1000 : null);
      const splice = transport.splice(client, upstream, { idleTimeoutMs: policy.idleTimeoutMs, upstreamPrefix });
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
      refusals.report("warn", "no backend", "no backend available: client closed", { client: attempts.client });
    }
    client.close();
  }

  const { rateGate } = deps;
  const handler = ((client: ClientSocket, origin?: ConnectionOrigin) => {
    if (rateGate !== undefined && !rateGate(origin?.sourceAddress ?? client.remoteAddress, now())) {
      counters.rateLimited++;
      client.close();
      return;
    }
    counters.accepted++;
    counters.active++;
    void guarded(client, origin);
  }) as ClientHandler;

  /** handle() with its failure logged and the active count kept (.catch and .finally each added a
   *  promise and a closure per connection, held for the connection's whole life). */
  async function guarded(client: ClientSocket, origin: ConnectionOrigin | undefined): Promise<void> {
    try {
      await handle(client, origin);
    } catch (err) {
      log.error("connection handler failed", { error: (err as Error).stack ?? String(err) });
      client.close();
    } finally {
      counters.active--;
    }
  }
  Object.defineProperty(handler, "counters", { value: counters });
  Object.defineProperty(handler, "inFlight", { value: inFlight });
  return handler;
}

/** The client's own socket endpoints (no PROXY header, or a LOCAL one). */
export function originOf(client: ClientSocket): ConnectionOrigin {
  return { sourceAddress: client.remoteAddress, sourcePort: client.remotePort, destinationAddress: client.localAddress, destinationPort: client.localPort };
}

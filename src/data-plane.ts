// The data plane: what touches client connections. Listeners (TCP, and TLS when enabled), the client
// handler with its rate gate, router and per-connection observers, and the backend connection pool.
// It holds no state of its own beyond its connections: everything it decides on lives in the control
// plane's SharedState (the engine in WASM memory, the route table, affinity, circuits, geo, settings),
// so several data planes can run against one control plane (one per worker thread, later).
import type { Config } from "./config.ts";
import type { ClientSocket, Clock, Listener, Splice, Transport } from "./runtime/types.ts";
import type { Logger } from "./lifecycle/log.ts";
import type { Component } from "./core/component.ts";
import type { Traffic } from "./metrics/observability.ts";
import type { SharedState } from "./control-plane.ts";
import type { RouteLookup } from "./core/route-table.ts";
import type { CertificateSource } from "./tls/tls-termination.ts";
import { drainConnections } from "./lifecycle/shutdown.ts";
import { createRateGate } from "./proxy/rate-gate.ts";
import { Router } from "./proxy/router.ts";
import { createClientHandler, type ClientHandler, type ProxyCounters } from "./proxy/handle-client.ts";
import { BackendPool } from "./pool/backend-pool.ts";
import { routableBackend } from "./routes/route-counts.ts";
import { TlsListenerPart } from "./tls/tls-termination.ts";
import { SettingError } from "./core/setting-error.ts";
import { hostPort } from "./core/host-port.ts";

export interface DataPlaneServices {
  readonly transport: Transport;
  readonly log: Logger;
  readonly clock: Clock;
  /** Listen with SO_REUSEPORT (a data plane in each of several worker threads on one address). */
  readonly reusePort?: boolean;
}

/** What a data plane reads of the control plane: its SharedState in the same thread, or in a worker
 *  thread the same engine memory with a RouteView as the table and the rest sent by message
 *  (src/workers/worker-state.ts). */
export interface DataPlaneState extends Omit<SharedState, "table" | "certificate"> {
  readonly table: RouteLookup & { slotOf(id: string): number | undefined };
  readonly certificate: CertificateSource | null;
}

export interface DataPlane {
  /** Start order: pool, connections (drained at stop), TCP listener, TLS listener. */
  readonly components: readonly Component[];
  readonly handler: ClientHandler;
  readonly router: Router;
  readonly pool: BackendPool;
  /** The TCP listener, once started. */
  readonly listener: Listener | null;
  /** The TLS listener part (null when EDGEPROXY_TLS_ENABLED is off). */
  readonly tls: TlsListenerPart | null;
}

export function createDataPlane(config: Config, services: DataPlaneServices, shared: DataPlaneState): DataPlane {
  const { transport, log, clock } = services;
  const now = () => clock.now();
  const { engine, table, settings } = shared;
  const router = new Router(engine, table, shared.affinity, shared.geo, shared.circuits);
  router.seed((Math.random() * 0x1_0000_0000) >>> 0);
  // Read on every take and sweep; `enabled` too (off: nothing handed out, the idle sockets closed).
  const pool = new BackendPool({ connect: transport.connect, settings: () => config.pool, now, log, routable: (id) => routableBackend(table, engine, id) });
  const handler = createClientHandler({
    observer: shared.observer,
    pool,
    transport,
    router,
    log,
    now,
    policy: () => config,
    rateGate: createRateGate(engine, () => settings.current().rateLimit),
    proxyProtocol: shared.proxyProtocol.hooks,
  });

  // Listed before the listeners, so stopped after them: no new client while connections drain.
  const connections: Component = {
    name: "connections",
    start() {},
    async stop() {
      await drainConnections({ active: () => handler.counters.active, inFlight: handler.inFlight }, config.shutdownTimeoutMs, log, clock);
    },
  };
  let listener: Listener | null = null;
  const tcp: Component = {
    name: "listener",
    async start() {
      try {
        listener = await transport.listen({ host: config.listen.host, port: config.listen.port, reusePort: services.reusePort ?? false }, shared.proxyProtocol.listenerEntry(handler));
      } catch (err) {
        const { host, port } = config.listen;
        throw new SettingError("EDGEPROXY_LISTEN_ADDR", `cannot listen on ${hostPort(host, port)}: ${(err as Error).message}`);
      }
    },
    async stop() {
      await listener?.close();
    },
  };
  const tls = shared.certificate === null ? null : new TlsListenerPart(config.tls, shared.certificate, transport, handler as (client: ClientSocket) => void, services.reusePort ?? false);

  return {
    components: [pool, connections, tcp, ...(tls ? [tls] : [])],
    handler,
    router,
    pool,
    get listener() { return listener; },
    tls,
  };
}

/** The counters and splices of every data plane, added up (the metrics read them at scrape time). */
export function trafficOf(planes: readonly DataPlane[]): Traffic {
  if (planes.length === 1) return planes[0]!.handler;
  const counters: ProxyCounters = { accepted: 0, active: 0, noBackend: 0, connectFailures: 0, rateLimited: 0, bytesFromClients: 0, bytesToClients: 0 };
  for (const plane of planes) {
    for (const key of Object.keys(counters) as (keyof ProxyCounters)[]) counters[key] += plane.handler.counters[key];
  }
  const inFlight: Iterable<Splice> = { *[Symbol.iterator]() { for (const plane of planes) yield* plane.handler.inFlight; } };
  return { counters, inFlight };
}

// One running edgeProxy: the control plane (runs once) and its data planes, as one ordered list of
// components started in order and stopped in reverse (src/lifecycle/component.ts), with every
// periodic job on one Scheduler. Adding a running part is adding one entry to a plane's list.
import type { Config } from "./config.ts";
import type { Listener } from "./runtime/types.ts";
import { hostPort } from "./core/host-port.ts";
import { Scheduler } from "./lifecycle/scheduler.ts";
import { startInOrder } from "./lifecycle/component.ts";
import { createControlPlane, type ControlPlane, type ControlPlaneServices } from "./control-plane.ts";
import { createDataPlane, trafficOf, type DataPlane } from "./data-plane.ts";
import { WorkerPool } from "./workers/worker-pool.ts";

export type EdgeProxyServices = ControlPlaneServices;

/** Data planes on worker threads (EDGEPROXY_WORKERS > 1): each reads its Config from this environment. */
export interface WorkerThreads {
  readonly count: number;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly hostName: string;
}

export interface EdgeProxy {
  readonly control: ControlPlane;
  /** The data planes in this thread (none when they run on worker threads). */
  readonly planes: readonly DataPlane[];
  /** The data-plane worker threads (null: the data planes run in this thread). */
  readonly workers: WorkerPool | null;
  /** The first data plane's TCP listener. */
  readonly listener: Listener;
  /** Component names in start order. */
  readonly components: readonly string[];
  readonly scheduler: Scheduler;
  /** Graceful: /health says "draining", the listeners close, in-flight connections finish up to
   *  EDGEPROXY_SHUTDOWN_TIMEOUT_SECS, then every other component stops, in reverse start order. */
  close(): Promise<void>;
}

/** Starts everything or nothing: a component that fails to start (a SettingError naming the setting
 *  to fix) stops the ones already started, in reverse order, and the error is rethrown. */
export async function startEdgeProxy(config: Config, services: EdgeProxyServices, dataPlanes = 1, threads: WorkerThreads | null = null): Promise<EdgeProxy> {
  const { log } = services;
  const planes: DataPlane[] = [];
  // ---- worker threads (issue 11): one WorkerPool component in place of the in-thread data planes ----
  let pool: WorkerPool | null = null;
  const onThreads = threads !== null && threads.count > 1;
  const control = createControlPlane(config, services, {
    traffic: () => (pool ? pool.traffic() : trafficOf(planes)),
    backendDown: (id) => { pool?.backendDown(id); for (const plane of planes) plane.pool.drain(id); },
    ...(onThreads ? { circuitTransitions: (id: string) => pool!.circuitTransitions(id), proxyHeaders: { get accepted() { return pool!.proxyHeaders.accepted; }, get local() { return pool!.proxyHeaders.local; }, rejected: (r) => pool!.proxyHeaders.rejected(r) }, workers: () => pool!.tallies() } : {}),
  }, { workers: onThreads ? threads.count : 0 });
  if (onThreads) {
    pool = new WorkerPool({
      count: threads.count, env: threads.env, hostName: threads.hostName, runtime: services.transport.runtime,
      listen: config.listen, tlsListen: config.tls.enabled ? config.tls.listen : null, shutdownTimeoutMs: config.shutdownTimeoutMs,
      engine: control.shared.engine, settings: control.shared.settings, certificate: control.shared.certificate,
      observer: () => control.observability.observer, log, clock: services.clock,
    });
  } else {
    for (let i = 0; i < dataPlanes; i++) planes.push(createDataPlane(config, services, control.shared));
  }
  // ---- end worker threads ----

  const scheduler = new Scheduler(services.clock, log);
  const running = await startInOrder([...control.components, ...(pool ? [pool] : planes.flatMap((p) => p.components))], scheduler, log);

  const listener = pool ? pool.listener : planes[0]!.listener!;
  const { table } = control.shared;
  log.info("edgeProxy listening", { runtime: listener.runtime, workers: pool ? threads!.count : 1, addr: hostPort(listener.address.host, listener.address.port), region: config.region, backends: table.size, db: control.routes.source?.where });
  const pp = config.proxyProtocol;
  if (pp.send !== "off" || pp.trusted !== null) log.info("PROXY protocol", { send: pp.send, trusted: pp.trusted?.text.join(",") ?? "none", timeout_ms: pp.timeoutMs });
  const tls = pool ? pool.tlsAddress : planes[0]!.tls?.listener?.address;
  if (tls) log.info("TLS listening", { addr: hostPort(tls.host, tls.port), cert: config.tls.certPath, handshake_timeout_ms: config.tls.handshakeTimeoutMs });

  return {
    control,
    planes,
    workers: pool,
    listener,
    components: running.names,
    scheduler,
    async close() {
      control.observability.drain.begin(); // /health answers "draining" from here on
      await running.stop();
    },
  };
}

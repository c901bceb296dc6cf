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

export type EdgeProxyServices = ControlPlaneServices;

export interface EdgeProxy {
  readonly control: ControlPlane;
  readonly planes: readonly DataPlane[];
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
export async function startEdgeProxy(config: Config, services: EdgeProxyServices, dataPlanes = 1): Promise<EdgeProxy> {
  const { log } = services;
  const planes: DataPlane[] = [];
  const control = createControlPlane(config, services, {
    traffic: () => trafficOf(planes),
    backendDown: (id) => { for (const plane of planes) plane.pool.drain(id); },
  });
  for (let i = 0; i < dataPlanes; i++) planes.push(createDataPlane(config, services, control.shared));

  const scheduler = new Scheduler(services.clock, log);
  const running = await startInOrder([...control.components, ...planes.flatMap((p) => p.components)], scheduler, log);

  const listener = planes[0]!.listener!;
  const { table } = control.shared;
  log.info("edgeProxy listening", { runtime: listener.runtime, addr: hostPort(listener.address.host, listener.address.port), region: config.region, backends: table.size, db: control.routes.source?.where });
  const pp = config.proxyProtocol;
  if (pp.send !== "off" || pp.trusted !== null) log.info("PROXY protocol", { send: pp.send, trusted: pp.trusted?.text.join(",") ?? "none", timeout_ms: pp.timeoutMs });
  const tls = planes[0]!.tls?.listener;
  if (tls) log.info("TLS listening", { addr: hostPort(tls.address.host, tls.address.port), cert: config.tls.certPath, handshake_timeout_ms: config.tls.handshakeTimeoutMs });

  return {
    control,
    planes,
    listener,
    components: running.names,
    scheduler,
    async close() {
      control.observability.drain.begin(); // /health answers "draining" from here on
      await running.stop();
    },
  };
}

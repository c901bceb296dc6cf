// The entry of a data-plane worker thread (EDGEPROXY_WORKERS > 1): one data plane (listeners with
// SO_REUSEPORT, client handler, router, rate gate, pool) over the control plane's engine memory, on its
// own engine lane. Reports its counters to the control plane every reportMs; on "stop" it stops
// accepting, drains its connections (up to EDGEPROXY_SHUTDOWN_TIMEOUT_SECS) and ends.
import type { FromWorker, ToWorker, WorkerData, WorkerReport } from "./messages.ts";
import { loadConfig } from "../config.ts";
import { createLogger } from "../lifecycle/log.ts";
import { Scheduler } from "../lifecycle/scheduler.ts";
import { startInOrder, type RunningComponents } from "../lifecycle/component.ts";
import { createDataPlane } from "../data-plane.ts";
import { SettingError } from "../core/setting-error.ts";
import { PROXY_REJECTIONS } from "../core/proxy-protocol/header.ts";
import { systemClock } from "../runtime/clock.ts";
import { loadTransport } from "../runtime/index.ts";
import { readFileBytes } from "../runtime/fs.ts";
import { answer, closeParentPort, onParentMessage, threadData } from "../runtime/threads.ts";
import { workerState } from "./worker-state.ts";

const data = threadData<WorkerData>();
const send = (message: FromWorker): void => answer(message);
const parsed = loadConfig(data.env, data.hostName);
// The port worker 1 resolved (EDGEPROXY_LISTEN_ADDR port 0) is the one every worker binds.
const config = Object.freeze({
  ...parsed,
  listen: data.listen,
  tls: data.tlsListen === null ? parsed.tls : Object.freeze({ ...parsed.tls, listen: data.tlsListen }),
});
const base = createLogger(config.logLevel);
const tag = { worker: data.worker };
const log = {
  debug: (msg: string, fields?: Record<string, unknown>) => base.debug(msg, { ...tag, ...fields }),
  info: (msg: string, fields?: Record<string, unknown>) => base.info(msg, { ...tag, ...fields }),
  warn: (msg: string, fields?: Record<string, unknown>) => base.warn(msg, { ...tag, ...fields }),
  error: (msg: string, fields?: Record<string, unknown>) => base.error(msg, { ...tag, ...fields }),
};

const state = workerState(config, data, readFileBytes, log);
const plane = createDataPlane(config, { transport: await loadTransport(), log, clock: systemClock, reusePort: true }, state);
const scheduler = new Scheduler(systemClock, log);

function report(): WorkerReport {
  const { handler } = plane;
  let inFlightFromClient = 0, inFlightToClient = 0;
  for (const splice of handler.inFlight) {
    inFlightFromClient += splice.bytesFromClient;
    inFlightToClient += splice.bytesToClient;
  }
  const events = state.batch?.take() ?? { decided: [], connected: [], connectFailed: [] };
  const stats = state.proxyProtocol.stats;
  return {
    counters: { ...handler.counters }, inFlightFromClient, inFlightToClient, ...events,
    transitions: state.circuits.allTransitions(),
    proxyHeaders: { accepted: stats.accepted, local: stats.local, rejected: PROXY_REJECTIONS.map((r) => [r, stats.rejected(r)] as const) },
  };
}

// Test hook (not a setting): EDGEPROXY_TEST_WORKER_CRASH=<worker>:<connections> makes that worker throw
// once it accepted that many connections, in its first incarnation only (tests of the restart).
const crash = /^(\d+):(\d+)$/.exec(data.env.EDGEPROXY_TEST_WORKER_CRASH ?? "");
const crashAfter = crash !== null && Number(crash[1]) === data.worker && data.incarnation === 0 ? Number(crash[2]) : Infinity;

let running: RunningComponents;
try {
  running = await startInOrder([state.geo, ...plane.components], scheduler, log);
} catch (err) {
  const e = err as Error;
  send({ type: "start-failed", variable: e instanceof SettingError ? e.variable : null, message: e instanceof SettingError ? e.detail : (e.stack ?? e.message) });
  closeParentPort();
  throw err;
}
const tlsListener = plane.tls?.listener ?? null;
send({ type: "ready", listen: plane.listener!.address, tlsListen: tlsListener?.address ?? null });
log.debug("worker listening", { addr: plane.listener!.address, incarnation: data.incarnation });

let stopping = false;
const cancelReports = systemClock.after(0, function tick() {
  if (stopping) return;
  send({ type: "report", report: report() });
  if (plane.handler.counters.accepted >= crashAfter) throw new Error(`EDGEPROXY_TEST_WORKER_CRASH: worker ${data.worker} crashes after ${crashAfter} connections`);
  cancel = systemClock.after(data.reportMs, tick);
});
let cancel = cancelReports;

onParentMessage((raw) => {
  const message = raw as ToWorker;
  switch (message.type) {
    case "settings":
      state.settings.replace(message.settings);
      break;
    case "tls":
      void state.certificate?.replace(message.credentials);
      break;
    case "backend-down":
      plane.pool.drain(message.id);
      break;
    case "stop":
      if (stopping) return;
      stopping = true;
      cancel();
      void running.stop().then(async () => {
        await scheduler.stop();
        log.debug("worker drained", { accepted: plane.handler.counters.accepted });
        send({ type: "stopped", report: report() });
        closeParentPort();
      });
      break;
  }
});

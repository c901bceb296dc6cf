// The control plane's side of the data-plane worker threads (EDGEPROXY_WORKERS > 1), as one component:
// start() starts worker 1..W in turn (worker 1 resolves a port 0; the others bind the same address with
// SO_REUSEPORT), stop() tells every worker to stop accepting and waits for their drains. A worker that
// dies is restarted on its lane after the reservations it held are given back (engine.reclaimLane), while
// the others keep serving. Their reports add up to the one Traffic the metrics and status page read.
import type { Component } from "../core/component.ts";
import type { Logger } from "../core/logger.ts";
import type { Backend } from "../core/types.ts";
import type { Clock, HostPort, Listener, RuntimeName, TlsListener } from "../runtime/types.ts";
import type { WasmEngine } from "../engine/wasm-engine.ts";
import type { Settings } from "../settings/settings.ts";
import type { TlsCertificate } from "../tls/tls-termination.ts";
import type { ConnectionObserver } from "../proxy/connection-observer.ts";
import type { ProxyCounters } from "../proxy/handle-client.ts";
import type { Traffic } from "../metrics/observability.ts";
import type { MetricsSources, WorkerTally } from "../metrics/metrics-sources.ts";
import type { ProxyRejection } from "../core/proxy-protocol/header.ts";
import type { FromWorker, ToWorker, WorkerData, WorkerReport } from "./messages.ts";
import { spawnThread, type WorkerThread } from "../runtime/threads.ts";
import { SettingError } from "../core/setting-error.ts";
import { hostPort } from "../core/host-port.ts";

// In the single executable (bun build --compile, build/build-exe.mjs bundles the entry beside the CLI)
// every module's URL is the executable's own, /$bunfs/root/edgeproxy, and the entry sits at
// /$bunfs/root/workers/worker-entry.js.
const ENTRY = import.meta.url.includes("/$bunfs/") ? new URL("./workers/worker-entry.js", import.meta.url) : new URL("./worker-entry.ts", import.meta.url);
const REPORT_MS = 250;
const RESTART_DELAY_MS = 100;
/** A stop that outlasts the drain by this much: the worker is ended. */
const STOP_GRACE_MS = 5000;

const zero = (): ProxyCounters => ({ accepted: 0, active: 0, noBackend: 0, connectFailures: 0, rateLimited: 0, bytesFromClients: 0, bytesToClients: 0 });

export interface WorkerPoolDeps {
  readonly count: number;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly hostName: string;
  readonly runtime: RuntimeName;
  readonly listen: HostPort;
  readonly tlsListen: HostPort | null;
  readonly shutdownTimeoutMs: number;
  readonly engine: WasmEngine;
  readonly settings: Settings;
  readonly certificate: TlsCertificate | null;
  readonly observer: () => ConnectionObserver | undefined;
  readonly log: Logger;
  readonly clock: Clock;
}

/** One worker number (and lane), across its restarts. */
class Worker {
  thread: WorkerThread | null = null;
  incarnation = -1;
  restarts = 0;
  /** The current incarnation's last report. */
  last: WorkerReport | null = null;
  /** Counters of the incarnations that ended (monotonic totals survive a restart). */
  readonly retired = zero();
  readonly retiredTransitions = new Map<string, number[]>();
  readonly retiredHeaders = new Map<ProxyRejection | "accepted" | "local", number>();
  lastError: string | null = null;
  stopped: (() => void) | null = null;

  readonly number: number;
  constructor(number: number) {
    this.number = number;
  }

  retire(): void {
    const last = this.last;
    this.last = null;
    if (last === null) return;
    for (const key of Object.keys(this.retired) as (keyof ProxyCounters)[]) if (key !== "active") this.retired[key] += last.counters[key];
    for (const [id, counts] of last.transitions) {
      const sum = this.retiredTransitions.get(id) ?? [0, 0, 0];
      counts.forEach((n, i) => (sum[i] = (sum[i] ?? 0) + n));
      this.retiredTransitions.set(id, sum);
    }
    const add = (key: ProxyRejection | "accepted" | "local", n: number) => this.retiredHeaders.set(key, (this.retiredHeaders.get(key) ?? 0) + n);
    add("accepted", last.proxyHeaders.accepted);
    add("local", last.proxyHeaders.local);
    for (const [reason, n] of last.proxyHeaders.rejected) add(reason, n);
  }

  counter(key: keyof ProxyCounters): number {
    return (key === "active" ? 0 : this.retired[key]) + (this.last?.counters[key] ?? 0);
  }
}

export class WorkerPool implements Component {
  readonly name = "workers";
  readonly #workers: Worker[];
  readonly #deps: WorkerPoolDeps;
  #listen: HostPort;
  #tlsListen: HostPort | null;
  #stopping = false;

  constructor(deps: WorkerPoolDeps) {
    this.#deps = deps;
    this.#listen = deps.listen;
    this.#tlsListen = deps.tlsListen;
    this.#workers = Array.from({ length: deps.count }, (_, i) => new Worker(i + 1));
  }

  /** The address every worker listens on (its port resolved once started). */
  get listener(): Listener {
    return { runtime: this.#deps.runtime, address: this.#listen, close: () => Promise.resolve() };
  }

  get tlsAddress(): HostPort | null {
    return this.#tlsListen;
  }

  async start(): Promise<void> {
    // A new pair read by the control plane goes to every worker (checked there before it is sent).
    const relay = { setCredentials: (credentials) => { this.#broadcast({ type: "tls", credentials }); return Promise.resolve(); } } as TlsListener;
    this.#deps.certificate?.attach(relay);
    this.#deps.settings.onChange((settings) => this.#broadcast({ type: "settings", settings }));
    try {
      // Worker 1 first: it resolves a port 0 that the others then bind too.
      const [first, ...others] = this.#workers;
      await this.#spawn(first!);
      await Promise.all(others.map((worker) => this.#spawn(worker)));
    } catch (err) {
      await this.stop();
      throw err;
    }
    this.#deps.log.info("data-plane workers started", { workers: this.#workers.length, addr: hostPort(this.#listen.host, this.#listen.port) });
  }

  /** Every worker stops accepting and drains (each up to EDGEPROXY_SHUTDOWN_TIMEOUT_SECS, all at once). */
  async stop(): Promise<void> {
    this.#stopping = true;
    await Promise.all(this.#workers.map((worker) => this.#stopOne(worker)));
  }

  /** A backend's health check failed: every worker closes its pooled sockets to it. */
  backendDown(id: string): void {
    this.#broadcast({ type: "backend-down", id });
  }

  /** Every worker's counters and open-connection bytes, added up (as of their last reports). */
  traffic(): Traffic {
    const counters = zero();
    const inFlight: { bytesFromClient: number; bytesToClient: number }[] = [];
    for (const worker of this.#workers) {
      for (const key of Object.keys(counters) as (keyof ProxyCounters)[]) counters[key] += worker.counter(key);
      if (worker.last) inFlight.push({ bytesFromClient: worker.last.inFlightFromClient, bytesToClient: worker.last.inFlightToClient });
    }
    return { counters, inFlight };
  }

  readonly circuitTransitions = (id: string): readonly number[] | undefined => {
    let sum: number[] | undefined;
    for (const worker of this.#workers) {
      for (const counts of [worker.retiredTransitions.get(id), worker.last?.transitions.find(([t]) => t === id)?.[1]]) {
        if (counts === undefined) continue;
        sum ??= [0, 0, 0];
        counts.forEach((n, i) => (sum![i] = (sum![i] ?? 0) + n));
      }
    }
    return sum;
  };

  readonly proxyHeaders: NonNullable<MetricsSources["proxyHeaders"]> = (() => {
    const workers = this.#workers;
    const total = (key: ProxyRejection | "accepted" | "local") => {
      let n = 0;
      for (const w of workers) {
        n += w.retiredHeaders.get(key) ?? 0;
        const last = w.last?.proxyHeaders;
        if (last) n += key === "accepted" ? last.accepted : key === "local" ? last.local : (last.rejected.find(([r]) => r === key)?.[1] ?? 0);
      }
      return n;
    };
    return { get accepted() { return total("accepted"); }, get local() { return total("local"); }, rejected: (reason: ProxyRejection) => total(reason) };
  })();

  readonly tallies = (): readonly WorkerTally[] =>
    this.#workers.map((w) => ({ worker: w.number, accepted: w.counter("accepted"), active: w.counter("active"), restarts: w.restarts }));

  #broadcast(message: ToWorker): void {
    for (const worker of this.#workers) worker.thread?.send(message);
  }

  /** Starts the worker's next incarnation; resolves once it listens. */
  #spawn(worker: Worker): Promise<void> {
    const deps = this.#deps;
    worker.incarnation++;
    worker.lastError = null;
    const data: WorkerData = {
      env: deps.env, hostName: deps.hostName, worker: worker.number, incarnation: worker.incarnation,
      memory: deps.engine.memory, holds: deps.engine.holds!, settings: deps.settings.current(),
      credentials: deps.certificate?.credentials ?? null, listen: this.#listen, tlsListen: this.#tlsListen, reportMs: REPORT_MS,
    };
    return new Promise((resolve, reject) => {
      let ready = false;
      worker.thread = spawnThread(ENTRY, data, {
        message: (raw) => {
          const message = raw as FromWorker;
          switch (message.type) {
            case "ready":
              ready = true;
              this.#listen = message.listen;
              this.#tlsListen = message.tlsListen;
              resolve();
              break;
            case "start-failed":
              reject(message.variable === null ? new Error(`[edgeproxy] worker ${worker.number} failed to start: ${message.message}`) : new SettingError(message.variable, message.message));
              break;
            case "report":
            case "stopped":
              this.#replay(message.report);
              worker.last = message.report;
              if (message.type === "stopped") worker.stopped?.();
              break;
          }
        },
        error: (error) => {
          worker.lastError = error.stack ?? error.message;
        },
        exit: (code) => {
          worker.thread = null;
          worker.retire();
          worker.stopped?.();
          // Given back before anything else can run on this lane.
          const reclaimed = deps.engine.reclaimLane(worker.number);
          if (!ready) return reject(new Error(`[edgeproxy] worker ${worker.number} exited (code ${code}) before listening${worker.lastError ? `: ${worker.lastError}` : ""}`));
          if (this.#stopping) return;
          deps.log.error("worker died, restarting it", { worker: worker.number, code, error: worker.lastError, reclaimed });
          worker.restarts++;
          this.#restart(worker);
        },
      });
    });
  }

  #restart(worker: Worker, delayMs = RESTART_DELAY_MS): void {
    this.#deps.clock.after(delayMs, () => {
      if (this.#stopping) return;
      this.#spawn(worker).then(
        () => this.#deps.log.info("worker restarted", { worker: worker.number, incarnation: worker.incarnation }),
        (err: Error) => {
          this.#deps.log.error("worker restart failed, trying again", { worker: worker.number, error: err.message });
          this.#restart(worker, Math.min(5000, delayMs * 4));
        },
      );
    });
  }

  /** The worker's metrics events, into this thread's observer (histograms and per-backend tallies). */
  #replay(report: WorkerReport): void {
    const observer = this.#deps.observer();
    if (observer === undefined) return;
    for (const seconds of report.decided) observer.decided(seconds);
    for (const [backend, seconds] of report.connected) observer.connected(backend as Backend, seconds);
    for (const backend of report.connectFailed) observer.connectFailed(backend as Backend);
  }

  async #stopOne(worker: Worker): Promise<void> {
    const thread = worker.thread;
    if (thread === null) return;
    const done = new Promise<void>((resolve) => (worker.stopped = resolve));
    thread.send({ type: "stop" } satisfies ToWorker);
    let cancel = (): void => {};
    const late = new Promise<"late">((resolve) => (cancel = this.#deps.clock.after(this.#deps.shutdownTimeoutMs + STOP_GRACE_MS, () => resolve("late"))));
    const outcome = await Promise.race([done, late]);
    cancel();
    if (outcome === "late") this.#deps.log.warn("worker did not finish its drain in time, ending it", { worker: worker.number });
    await thread.terminate();
  }
}

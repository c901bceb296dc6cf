// A worker thread's view of the control plane: the same engine memory on its own lane (backend table,
// counts, circuits, buckets, affinity), a RouteView picking up the route snapshots the control plane
// publishes, and local copies of what arrives by message (settings, TLS certificate). Plus the parts
// whose counters the control plane adds up: a batching metrics observer.
import type { Config } from "../config.ts";
import type { Backend } from "../core/types.ts";
import type { Logger } from "../core/logger.ts";
import type { TlsCredentials, TlsListener } from "../runtime/types.ts";
import type { ConnectionObserver } from "../proxy/connection-observer.ts";
import type { DataPlaneState } from "../data-plane.ts";
import type { CertificateSource } from "../tls/tls-termination.ts";
import type { WorkerData } from "./messages.ts";
import { attachEngine } from "../engine/wasm-engine.ts";
import { RouteView } from "../engine/route-bus.ts";
import { CircuitGuard } from "../proxy/circuit-guard.ts";
import { GeoDatabase } from "../geo/geo-database.ts";
import { Settings } from "../settings/settings.ts";
import { ProxyProtocol } from "../proxy/proxy-protocol.ts";

/** Metrics events of one worker, kept until the next report (the control plane replays them). */
export class ObserverBatch implements ConnectionObserver {
  decidedSeconds: number[] = [];
  connects: [Backend, number | null][] = [];
  failures: Backend[] = [];

  decided(seconds: number): void {
    this.decidedSeconds.push(seconds);
  }

  connected(backend: Backend, connectSeconds: number | null): void {
    this.connects.push([backend, connectSeconds]);
  }

  connectFailed(backend: Backend): void {
    this.failures.push(backend);
  }

  /** The events so far; the batch starts empty again. */
  take(): { decided: number[]; connected: [Backend, number | null][]; connectFailed: Backend[] } {
    const taken = { decided: this.decidedSeconds, connected: this.connects, connectFailed: this.failures };
    this.decidedSeconds = [];
    this.connects = [];
    this.failures = [];
    return taken;
  }
}

/** The certificate the control plane last sent; a new pair goes to every attached listener. */
export class SentCertificate implements CertificateSource {
  #credentials: TlsCredentials;
  readonly #listeners = new Set<TlsListener>();
  readonly log: Logger;

  constructor(credentials: TlsCredentials, log: Logger) {
    this.#credentials = credentials;
    this.log = log;
  }

  get credentials(): TlsCredentials {
    return this.#credentials;
  }

  attach(listener: TlsListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async replace(credentials: TlsCredentials): Promise<void> {
    this.#credentials = credentials;
    for (const listener of this.#listeners) {
      // The control plane checked the pair before sending it; a failure here is this runtime's alone.
      await listener.setCredentials(credentials).catch((err: Error) => this.log.error("TLS certificate not taken by a worker listener", { error: err.message }));
    }
  }
}

export interface WorkerState extends DataPlaneState {
  readonly geo: GeoDatabase;
  readonly settings: Settings;
  readonly circuits: CircuitGuard;
  readonly certificate: SentCertificate | null;
  readonly batch: ObserverBatch | null;
}

export function workerState(config: Config, data: WorkerData, readFile: (path: string) => Promise<Uint8Array>, log: Logger): WorkerState {
  const engine = attachEngine(data.memory, data.worker, data.holds);
  const view = new RouteView(engine);
  const settings = new Settings(data.settings);
  const batch = config.metrics.enabled ? new ObserverBatch() : null;
  return {
    engine,
    table: view,
    affinity: engine.bindings(config.bindingTtlMs),
    circuits: new CircuitGuard(engine, (slot) => view.backendAt(slot), () => settings.current().circuit, log),
    // The control plane already warned about a missing geo database; each worker reads the file itself.
    geo: new GeoDatabase(config.geoipPath, config.regionOverrides, readFile, { ...log, warn: log.debug }),
    settings,
    observer: batch ?? undefined,
    batch,
    certificate: data.credentials === null ? null : new SentCertificate(data.credentials, log),
    proxyProtocol: new ProxyProtocol({ config: config.proxyProtocol, overrides: () => settings.current().backends, hasConfigFile: config.configWatch.file !== null, log }),
  };
}

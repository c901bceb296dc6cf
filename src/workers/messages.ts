// What crosses between the control plane (main thread) and the data-plane worker threads. Everything the
// data path decides on that changes often (backend table, live counts, circuits, token buckets,
// affinity, route snapshots, health verdicts) is in the shared engine memory and crosses no message;
// these carry what changes rarely (settings, certificate, a backend to drain) and the counters the
// metrics add up.
import type { Backend } from "../core/types.ts";
import type { ReloadableSettings } from "../settings/settings.ts";
import type { ProxyCounters } from "../proxy/handle-client.ts";
import type { HostPort, TlsCredentials } from "../runtime/types.ts";
import type { ProxyRejection } from "../core/proxy-protocol/header.ts";
import type { WasmEngine } from "../engine/wasm-engine.ts";

/** workerData of a data-plane worker thread. */
export interface WorkerData {
  /** The process environment: the worker reads the same Config from it (classes do not cross threads). */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly hostName: string;
  /** 1..W: the worker's number and its engine lane. */
  readonly worker: number;
  /** 0 at start, +1 at each restart. */
  readonly incarnation: number;
  readonly memory: WasmEngine["memory"];
  readonly holds: SharedArrayBuffer;
  readonly settings: ReloadableSettings;
  /** The TLS pair to listen with (null: TLS off). */
  readonly credentials: TlsCredentials | null;
  /** Where to listen (port 0 resolved by worker 1: the others and restarts bind the same port). */
  readonly listen: HostPort;
  readonly tlsListen: HostPort | null;
  /** How often to report counters (ms). */
  readonly reportMs: number;
}

export type ToWorker =
  | { readonly type: "settings"; readonly settings: ReloadableSettings }
  | { readonly type: "tls"; readonly credentials: TlsCredentials }
  | { readonly type: "backend-down"; readonly id: string }
  | { readonly type: "stop" };

/** A worker's counters: cumulative for this incarnation, except the observer events (since the last report). */
export interface WorkerReport {
  readonly counters: ProxyCounters;
  readonly inFlightFromClient: number;
  readonly inFlightToClient: number;
  /** Routing decision times (s). */
  readonly decided: readonly number[];
  /** Backend connects: the backend and its connect time (s), null for a pooled socket. */
  readonly connected: readonly (readonly [Backend, number | null])[];
  readonly connectFailed: readonly Backend[];
  /** Circuit transitions per backend id, indexed by the state moved to. */
  readonly transitions: readonly (readonly [string, readonly number[]])[];
  readonly proxyHeaders: { readonly accepted: number; readonly local: number; readonly rejected: readonly (readonly [ProxyRejection, number])[] };
}

export type FromWorker =
  | { readonly type: "ready"; readonly listen: HostPort; readonly tlsListen: HostPort | null }
  | { readonly type: "start-failed"; readonly variable: string | null; readonly message: string }
  | { readonly type: "report"; readonly report: WorkerReport }
  | { readonly type: "stopped"; readonly report: WorkerReport };

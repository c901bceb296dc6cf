// One active health probe of one backend: a TCP connect, or an HTTP GET that must answer 2xx.
// A probe resolves when the backend is healthy and rejects with the reason otherwise; the checker
// bounds it with the timeout and aborts `signal` when the time is up or the proxy stops.
import type { HostPort, Transport } from "../runtime/types.ts";
import { httpGetStatus } from "../runtime/http-status.ts";

export interface ProbeSpec {
  readonly type: "tcp" | "http";
  readonly path: string;
  readonly timeoutMs: number;
}

export type HealthProbe = (target: HostPort, spec: ProbeSpec, signal: AbortSignal) => Promise<void>;

/** One GET of `path`, resolving with the response's status code (runtime/http-status.ts). */
export type HttpGet = (target: HostPort, path: string, signal: AbortSignal) => Promise<number>;

const directGet: HttpGet = (target, path, signal) => httpGetStatus(target, path, signal, "edgeproxy-health-check");

/** The backend accepts a TCP connection (closed again at once). */
export function tcpProbe(connect: Transport["connect"]): HealthProbe {
  return async (target, spec) => {
    const socket = await connect(target, spec.timeoutMs);
    socket.close();
  };
}

/** GET <path> on a new connection answers 2xx. Redirects are not followed: a 3xx is a failure. No
 *  proxy is used (HTTP_PROXY is for the host's outgoing traffic, not for its backends). */
export function httpProbe(get: HttpGet = directGet): HealthProbe {
  return async (target, spec, signal) => {
    const status = await get(target, spec.path, signal);
    if (status < 200 || status > 299) throw new Error(`HTTP ${status}`);
  };
}

/** The probe for a check type; tcp uses the proxy's transport (connect). */
export function probeFor(transport: Pick<Transport, "connect">): (spec: ProbeSpec) => HealthProbe {
  const tcp = tcpProbe(transport.connect);
  const http = httpProbe();
  return (spec) => (spec.type === "http" ? http : tcp);
}

// One active health probe of one backend: a TCP connect, or an HTTP GET that must answer 2xx.
// A probe resolves when the backend is healthy and rejects with the reason otherwise; the checker
// bounds it with the timeout and aborts `signal` when the time is up or the proxy stops.
import type { HostPort, Transport } from "../runtime/types.ts";

export interface ProbeSpec {
  readonly type: "tcp" | "http";
  readonly path: string;
  readonly timeoutMs: number;
}

export type HealthProbe = (target: HostPort, spec: ProbeSpec, signal: AbortSignal) => Promise<void>;

/** Host part of a URL authority: IPv6 literals in brackets. */
function urlHost(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

/** The backend accepts a TCP connection (closed again at once). */
export function tcpProbe(connect: Transport["connect"]): HealthProbe {
  return async (target, spec) => {
    const socket = await connect(target, spec.timeoutMs);
    socket.close();
  };
}

/** GET http://host:port<path> answers 2xx. Redirects are not followed: a 3xx is a failure. */
export function httpProbe(fetchImpl: typeof fetch = fetch): HealthProbe {
  return async (target, spec, signal) => {
    const res = await fetchImpl(`http://${urlHost(target.host)}:${target.port}${spec.path}`, {
      signal,
      redirect: "manual",
      headers: { "user-agent": "edgeproxy-health-check" },
    });
    // The body is not needed: cancel it so the connection is released (or closed) now.
    await res.body?.cancel().catch(() => {});
    if (res.status < 200 || res.status > 299) throw new Error(`HTTP ${res.status}`);
  };
}

/** The probe for a check type; both share one transport (connect) and the global fetch. */
export function probeFor(transport: Pick<Transport, "connect">): (spec: ProbeSpec) => HealthProbe {
  const tcp = tcpProbe(transport.connect);
  const http = httpProbe();
  return (spec) => (spec.type === "http" ? http : tcp);
}

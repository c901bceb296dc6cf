// The body of GET /health, the same on the API listener and on the metrics listener.
// While the proxy drains (after SIGTERM/SIGINT) it answers 503 `draining`, so load balancers stop
// sending new clients while in-flight connections finish.

export type HealthStatus = "ok" | "draining";

export interface HealthSource {
  readonly status: () => HealthStatus;
  /** Backends the proxy routes to right now. */
  readonly routableBackends: () => number;
  readonly startedAtMs: number;
  readonly now: () => number;
  readonly version: string;
}

export interface HealthReport {
  readonly httpStatus: 200 | 503;
  readonly body: { status: HealthStatus; version: string; backends: number; uptime_secs: number };
}

export function healthReport(source: HealthSource): HealthReport {
  const status = source.status();
  return {
    httpStatus: status === "ok" ? 200 : 503,
    body: {
      status,
      version: source.version,
      backends: source.routableBackends(),
      uptime_secs: Math.max(0, Math.floor((source.now() - source.startedAtMs) / 1000)),
    },
  };
}

// The metrics listener (EDGEPROXY_METRICS_LISTEN_ADDR): the exposition on EDGEPROXY_METRICS_PATH and
// /health beside it (the API's /health exists only when the API is enabled). GET and HEAD only.
import type { MetricsConfig } from "../config.ts";
import type { HostPort } from "../runtime/types.ts";
import { serveHttp } from "../runtime/http-server.ts";
import type { ProxyMetrics } from "./metrics.ts";
import { healthReport, type HealthSource } from "../health/health-report.ts";
import { SettingError } from "../setting-error.ts";

export interface RunningMetricsServer {
  readonly address: HostPort;
  close(): Promise<void>;
}

export function metricsFetch(path: string, metrics: ProxyMetrics, health: HealthSource): (request: Request) => Promise<Response> {
  return async (request) => {
    const { pathname } = new URL(request.url);
    if (pathname !== path && pathname !== "/health") return new Response("not found\n", { status: 404 });
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response("method not allowed\n", { status: 405, headers: { allow: "GET, HEAD" } });
    }
    if (pathname === "/health") {
      const report = healthReport(health);
      return Response.json(report.body, { status: report.httpStatus });
    }
    try {
      return new Response(await metrics.render(), { headers: { "content-type": metrics.contentType } });
    } catch (err) {
      return new Response(`metrics collection failed: ${(err as Error).message}\n`, { status: 500 });
    }
  };
}

export async function startMetricsServer(config: MetricsConfig, metrics: ProxyMetrics, health: HealthSource): Promise<RunningMetricsServer> {
  try {
    return await serveHttp(config.listen, metricsFetch(config.path, metrics, health));
  } catch (err) {
    const { host, port } = config.listen;
    throw new SettingError("EDGEPROXY_METRICS_LISTEN_ADDR", `cannot listen on ${host.includes(":") ? `[${host}]` : host}:${port}: ${(err as Error).message}`);
  }
}

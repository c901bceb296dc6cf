// The metrics listener (EDGEPROXY_METRICS_LISTEN_ADDR): the exposition on EDGEPROXY_METRICS_PATH and
// /health beside it (the API's /health exists only when the API is enabled), and the status page (/,
// /status.json and its assets) when one is given. GET and HEAD only.
import type { MetricsConfig } from "../config.ts";
import type { HostPort } from "../runtime/types.ts";
import { serveHttp } from "../runtime/http-server.ts";
import type { ProxyMetrics } from "./metrics.ts";
import { healthReport, type HealthSource } from "../api/health-report.ts";
import { hostPort } from "../core/host-port.ts";
import type { StatusPage } from "../status/status-page.ts";
import { SettingError } from "../core/setting-error.ts";

export interface RunningMetricsServer {
  readonly address: HostPort;
  close(): Promise<void>;
}

export function metricsFetch(path: string, metrics: ProxyMetrics, health: HealthSource, status?: StatusPage): (request: Request) => Promise<Response> {
  return async (request) => {
    const { pathname } = new URL(request.url);
    const onStatusPage = pathname !== path && status?.paths.has(pathname) === true;
    if (pathname !== path && pathname !== "/health" && !onStatusPage) return new Response("not found\n", { status: 404 });
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response("method not allowed\n", { status: 405, headers: { allow: "GET, HEAD" } });
    }
    if (pathname === "/health") {
      const report = healthReport(health);
      return Response.json(report.body, { status: report.httpStatus });
    }
    if (onStatusPage) {
      try {
        return status!.respond(pathname);
      } catch (err) {
        return new Response(`status collection failed: ${(err as Error).message}\n`, { status: 500 });
      }
    }
    try {
      return new Response(await metrics.render(), { headers: { "content-type": metrics.contentType } });
    } catch (err) {
      return new Response(`metrics collection failed: ${(err as Error).message}\n`, { status: 500 });
    }
  };
}

export async function startMetricsServer(config: MetricsConfig, metrics: ProxyMetrics, health: HealthSource, status?: StatusPage): Promise<RunningMetricsServer> {
  try {
    return await serveHttp(config.listen, metricsFetch(config.path, metrics, health, status));
  } catch (err) {
    const { host, port } = config.listen;
    throw new SettingError("EDGEPROXY_METRICS_LISTEN_ADDR", `cannot listen on ${hostPort(host, port)}: ${(err as Error).message}`);
  }
}

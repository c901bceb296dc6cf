// `edgeproxy health`: exit 0 when the proxy on this host answers, 1 when it does not. Made for a
// container HEALTHCHECK (no curl in the image): it reads the same EDGEPROXY_* environment as `serve`
// and asks, in this order, the first listener that is enabled:
//   1. EDGEPROXY_METRICS_ENABLED=true → GET http://EDGEPROXY_METRICS_LISTEN_ADDR/health must be 200
//   2. EDGEPROXY_API_ENABLED=true     → GET http://EDGEPROXY_API_LISTEN_ADDR/health must be 200
//   3. otherwise                      → a TCP connect to EDGEPROXY_LISTEN_ADDR must succeed
// /health answers 503 while the proxy drains after SIGTERM, so a draining proxy reports unhealthy.
import type { Command } from "commander";
import { ConfigError, loadConfig, type Config, type ListenAddress } from "../config.ts";
import type { CliContext } from "./program.ts";
import { UsageError } from "./usage-error.ts";
import { hostPort } from "../core/host-port.ts";

/** How `health` reaches the proxy (fetch and the runtime's TCP connect, given by cli/main.ts). */
export interface HealthReach {
  fetch(url: string, timeoutMs: number): Promise<{ readonly status: number; readonly body: string }>;
  /** Resolves once a TCP connection to host:port was established (and closes it). */
  connect(host: string, port: number, timeoutMs: number): Promise<void>;
}

export type HealthTarget =
  | { readonly kind: "http"; readonly variable: string; readonly url: string }
  | { readonly kind: "tcp"; readonly variable: string; readonly host: string; readonly port: number };

/** The listener `health` checks for this configuration (see the order above). */
export function healthTarget(config: Config): HealthTarget {
  if (config.metrics.enabled) return { kind: "http", variable: "EDGEPROXY_METRICS_LISTEN_ADDR", url: `http://${localHostPort(config.metrics.listen)}/health` };
  if (config.apiEnabled) return { kind: "http", variable: "EDGEPROXY_API_LISTEN_ADDR", url: `http://${localHostPort(config.apiListen)}/health` };
  const { host, port } = local(config.listen);
  return { kind: "tcp", variable: "EDGEPROXY_LISTEN_ADDR", host, port };
}

/** A wildcard listen address is reached on loopback (0.0.0.0 → 127.0.0.1, :: → ::1). */
function local(address: ListenAddress): ListenAddress {
  if (address.host === "0.0.0.0") return { host: "127.0.0.1", port: address.port };
  if (address.host === "::") return { host: "::1", port: address.port };
  return address;
}

function localHostPort(address: ListenAddress): string {
  const { host, port } = local(address);
  return hostPort(host, port);
}

/** The proxy did not answer: the CLI prints `unhealthy: <message>` and exits 1. */
export class UnhealthyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnhealthyError";
  }
}

export function addHealthCommand(program: Command, context: CliContext): void {
  program
    .command("health")
    .description("exit 0 when the local proxy answers: GET /health on the metrics listener, else on the API, else a TCP connect to EDGEPROXY_LISTEN_ADDR")
    .option("--timeout <secs>", "give up after this many seconds", "3")
    .action(async (opts: { timeout: string }) => {
      const secs = Number(opts.timeout);
      if (!Number.isFinite(secs) || secs <= 0 || secs > 600) throw new UsageError("--timeout", `--timeout: expected seconds between 0 and 600, got ${JSON.stringify(opts.timeout)}`);
      let config: Config;
      try {
        config = loadConfig(context.io.env);
      } catch (err) {
        if (err instanceof ConfigError) throw new UsageError(err.variable, err.message);
        throw err;
      }
      const target = healthTarget(config);
      const verdict = await check(target, context.io.reach, Math.round(secs * 1000));
      if (!verdict.ok) throw new UnhealthyError(verdict.detail);
      context.io.out(`healthy: ${verdict.detail}`);
    });
}

async function check(target: HealthTarget, reach: HealthReach, timeoutMs: number): Promise<{ ok: boolean; detail: string }> {
  if (target.kind === "http") {
    try {
      const { status, body } = await reach.fetch(target.url, timeoutMs);
      return { ok: status === 200, detail: `${target.url} (${target.variable}) answered ${status} ${body.replace(/\s+/g, " ").trim().slice(0, 200)}` };
    } catch (err) {
      return { ok: false, detail: `${target.url} (${target.variable}): ${reason(err)}` };
    }
  }
  const where = hostPort(target.host, target.port);
  try {
    await reach.connect(target.host, target.port, timeoutMs);
    return { ok: true, detail: `TCP connect to ${where} (${target.variable})` };
  } catch (err) {
    return { ok: false, detail: `TCP connect to ${where} (${target.variable}): ${reason(err)}` };
  }
}

/** Node's fetch says only "fetch failed"; the refused connect is in its cause. */
function reason(err: unknown): string {
  const cause = (err as { cause?: unknown }).cause;
  const message = err instanceof Error ? err.message : String(err);
  return cause instanceof Error ? `${message}: ${cause.message}` : message;
}

// Composition root: read config, pick the runtime adapter, start the proxy, stop on a signal.
import { loadConfig, type Config } from "./config.ts";
import { startEdgeProxy, type WorkerThreads } from "./edge-proxy.ts";
import type { Logger } from "./lifecycle/log.ts";
import { availableCpus, reusePortSupport } from "./runtime/reuse-port.ts";
import { unknownEnvVariables } from "./config-variables.ts";
import { SettingError } from "./core/setting-error.ts";
import { systemClock } from "./runtime/clock.ts";
import { createLogger } from "./lifecycle/log.ts";
import { loadTransport } from "./runtime/index.ts";
import { readEnv, exit, hostName } from "./runtime/env.ts";
import { fileIdentitySync, readFileBytes } from "./runtime/fs.ts";
import { onShutdownSignal } from "./runtime/signals.ts";
import { ignoreStraySocketErrors } from "./runtime/stray-errors.ts";
import { ShutdownSignals } from "./lifecycle/shutdown-signals.ts";

async function main(): Promise<void> {
  let config;
  const env = readEnv();
  try {
    config = loadConfig(env, hostName());
  } catch (err) {
    if (err instanceof SettingError) {
      console.error(`[edgeproxy] invalid configuration: ${err.message}`);
      exit(2);
    }
    throw err;
  }
  const log = createLogger(config.logLevel);
  ignoreStraySocketErrors((message, fields) => log.warn(message, fields));
  for (const u of unknownEnvVariables(env)) {
    log.warn(`unknown variable ${u.name} ignored${u.closest === null ? "" : ` (did you mean ${u.closest}?)`}`, { variable: u.name, closest: u.closest });
  }
  const starting = startEdgeProxy(config, { transport: await loadTransport(), readFile: readFileBytes, fileIdentity: fileIdentitySync, log, clock: systemClock }, 1, workerThreads(config, log));
  // Installed before startup finishes: a SIGTERM right after "listening" is logged still drains.
  const signals = new ShutdownSignals();
  onShutdownSignal(async (signal) => {
    const meaning = signals.receive(Date.now());
    if (meaning === "duplicate") return log.debug("signal delivered twice, already shutting down", { signal });
    if (meaning === "force") {
      log.warn("second signal: exiting now", { signal });
      exit(1);
    }
    log.info("shutting down", { signal, timeout_secs: config.shutdownTimeoutMs / 1000 });
    const proxy = await starting.catch(() => null); // a failed start exits below
    if (proxy === null) return;
    try {
      await proxy.close(); // in-flight connections finish, up to EDGEPROXY_SHUTDOWN_TIMEOUT_SECS
    } catch (err) {
      log.error("shutdown failed", { error: (err as Error).stack ?? String(err) });
      exit(1);
    }
    log.info("stopped");
    exit(0);
  });
  try {
    await starting;
  } catch (err) {
    if (err instanceof SettingError) {
      console.error(`[edgeproxy] cannot start: ${err.message}`);
      exit(1);
    }
    throw err;
  }
}

/** EDGEPROXY_WORKERS resolved: "auto" is the CPUs available to the process; a runtime that cannot share a
 *  listening address (SO_REUSEPORT) says so and runs one data plane in this thread. */
function workerThreads(config: Config, log: Logger): WorkerThreads | null {
  const wanted = config.workers === "auto" ? availableCpus() : config.workers;
  if (wanted <= 1) return null;
  const unsupported = reusePortSupport();
  if (unsupported !== null) {
    log.warn("EDGEPROXY_WORKERS: running one data plane in the main thread, not worker threads", { workers: config.workers, wanted, reason: unsupported });
    return null;
  }
  return { count: wanted, env: readEnv(), hostName: hostName() };
}

await main();

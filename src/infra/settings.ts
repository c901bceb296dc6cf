// The settings that change without a restart: rate limit, circuit breaker, health check and backend
// weight/limit overrides. Env variables give the base values, the config file overrides them, and
// components read `current()` each time they need a threshold, so a reload applies at once.
import type { Config } from "../config.ts";
import type { BackendOverrides } from "../core/backend-overrides.ts";
import type { CircuitSettings } from "../core/circuit.ts";
import type { RateLimitSettings } from "../core/token-bucket.ts";

export interface HealthCheckSettings {
  readonly enabled: boolean;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly type: "tcp" | "http";
  readonly path: string;
  readonly healthyThreshold: number;
  readonly unhealthyThreshold: number;
}

export interface ReloadableSettings {
  readonly rateLimit: RateLimitSettings;
  readonly circuit: CircuitSettings;
  readonly healthCheck: HealthCheckSettings;
  /** By backend id. */
  readonly backends: BackendOverrides;
}

/** DESIGN.md defaults of the reloadable settings. */
export const SETTINGS_DEFAULTS: ReloadableSettings = Object.freeze({
  rateLimit: Object.freeze({ enabled: false, maxRequests: 100, windowMs: 1000, burst: 10 }),
  circuit: Object.freeze({ enabled: false, failureThreshold: 5, successThreshold: 3, timeoutMs: 30_000, halfOpenProbes: 3 }),
  healthCheck: Object.freeze({ enabled: false, intervalMs: 5000, timeoutMs: 2000, type: "tcp", path: "/health", healthyThreshold: 2, unhealthyThreshold: 3 } as const),
  backends: new Map(),
});

/** The settings before any config file: the env values. The EDGEPROXY_HEALTH_* variables are read
 *  on the health-check branch; until that is merged, health checks get the DESIGN.md defaults. */
export function baseSettings(config: Config): ReloadableSettings {
  const { enabled, maxRequests, windowMs, burst } = config.rateLimit; // maxClients sizes a table: not reloadable
  return Object.freeze({ ...SETTINGS_DEFAULTS, rateLimit: Object.freeze({ enabled, maxRequests, windowMs, burst }), circuit: config.circuit });
}

export type SettingsListener = (next: ReloadableSettings, previous: ReloadableSettings) => void;

export class Settings {
  #current: ReloadableSettings;
  readonly #listeners = new Set<SettingsListener>();

  constructor(initial: ReloadableSettings) {
    this.#current = initial;
  }

  current(): ReloadableSettings {
    return this.#current;
  }

  /** Called after every replace(); returns the unsubscribe function. */
  onChange(listener: SettingsListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Swaps in new settings and tells every listener (all of them, even when one throws). */
  replace(next: ReloadableSettings): void {
    const previous = this.#current;
    this.#current = next;
    const errors: unknown[] = [];
    for (const listener of this.#listeners) {
      try {
        listener(next, previous);
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length > 0) throw errors[0];
  }
}

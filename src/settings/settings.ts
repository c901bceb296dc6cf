// The settings that change without a restart: rate limit, circuit breaker, health check and backend
// weight/limit overrides. Env variables give the base values, the config file overrides them, and
// components read `current()` each time they need a threshold, so a reload applies at once.
import type { Config, HealthConfig } from "../config.ts";
import type { BackendOverrides } from "../core/backend-overrides.ts";
import type { CircuitSettings } from "../core/circuit.ts";
import type { RateLimitSettings } from "../core/token-bucket.ts";

export interface ReloadableSettings {
  readonly rateLimit: RateLimitSettings;
  readonly circuit: CircuitSettings;
  /** Applies at the checker's next tick, `enabled` included (off drops every probe verdict). */
  readonly healthCheck: HealthConfig;
  /** By backend id. */
  readonly backends: BackendOverrides;
}

/** The settings before any config file: the env values. */
export function baseSettings(config: Config): ReloadableSettings {
  const { enabled, maxRequests, windowMs, burst } = config.rateLimit; // maxClients sizes a table: not reloadable
  return Object.freeze({ rateLimit: Object.freeze({ enabled, maxRequests, windowMs, burst }), circuit: config.circuit, healthCheck: config.health, backends: new Map() });
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

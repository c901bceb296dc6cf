// The reloadable settings, one entry each: its environment variable, its config file key, what it
// accepts and its default. config.ts reads the variables and settings-file.ts the keys through this
// table, so a setting accepts the same values from both and its errors quote the same form.
import { flagKind, integerKind, oneOfKind, requestPathKind, secondsKind, type SettingKind } from "./setting-kinds.ts";

export interface SettingSpec<T> {
  readonly variable: string;
  /** Key inside its file section, e.g. `burst` in `[rate_limit]`. */
  readonly key: string;
  readonly kind: SettingKind<T>;
  /** Default when the variable is unset; a function reads the section's values parsed before it. */
  readonly fallback: T | ((earlier: Readonly<Record<string, unknown>>) => T);
}

export interface SectionSpec<S> {
  /** The file's table name, e.g. `rate_limit`. */
  readonly table: string;
  /** Field of the settings object → its spec, in reading order. */
  readonly fields: { readonly [K in keyof S]: SettingSpec<S[K]> };
}

const DAY_SECS = 86_400;

const spec = <T>(variable: string, key: string, kind: SettingKind<T>, fallback: SettingSpec<T>["fallback"]): SettingSpec<T> => ({ variable, key, kind, fallback });

export const RATE_LIMIT = {
  table: "rate_limit",
  fields: {
    enabled: spec("EDGEPROXY_RATE_LIMIT_ENABLED", "enabled", flagKind, false),
    maxRequests: spec("EDGEPROXY_RATE_LIMIT_MAX_REQUESTS", "max_requests", integerKind(1, 1_000_000), 100),
    windowMs: spec("EDGEPROXY_RATE_LIMIT_WINDOW_SECS", "window_secs", secondsKind(DAY_SECS), 1000),
    burst: spec("EDGEPROXY_RATE_LIMIT_BURST", "burst", integerKind(1, 1_000_000), 10),
  },
} as const;

export const CIRCUIT = {
  table: "circuit_breaker",
  fields: {
    enabled: spec("EDGEPROXY_CIRCUIT_BREAKER_ENABLED", "enabled", flagKind, false),
    failureThreshold: spec("EDGEPROXY_CIRCUIT_FAILURE_THRESHOLD", "failure_threshold", integerKind(1, 10_000), 5),
    successThreshold: spec("EDGEPROXY_CIRCUIT_SUCCESS_THRESHOLD", "success_threshold", integerKind(1, 10_000), 3),
    timeoutMs: spec("EDGEPROXY_CIRCUIT_TIMEOUT_SECS", "timeout_secs", secondsKind(DAY_SECS), 30_000),
    // Unset: as many probes at once as successes needed, so one round of probes can close the circuit.
    halfOpenProbes: spec("EDGEPROXY_CIRCUIT_HALF_OPEN_PROBES", "half_open_probes", integerKind(1, 10_000), (earlier) => earlier.successThreshold as number),
  },
} as const;

export const HEALTH_CHECK = {
  table: "health_check",
  fields: {
    enabled: spec("EDGEPROXY_HEALTH_CHECK_ENABLED", "enabled", flagKind, false),
    intervalMs: spec("EDGEPROXY_HEALTH_CHECK_INTERVAL_SECS", "interval_secs", secondsKind(DAY_SECS), 5000),
    timeoutMs: spec("EDGEPROXY_HEALTH_CHECK_TIMEOUT_SECS", "timeout_secs", secondsKind(3600), 2000),
    type: spec("EDGEPROXY_HEALTH_CHECK_TYPE", "type", oneOfKind(["tcp", "http"] as const), "tcp"),
    path: spec("EDGEPROXY_HEALTH_CHECK_PATH", "path", requestPathKind, "/health"),
    healthyThreshold: spec("EDGEPROXY_HEALTH_HEALTHY_THRESHOLD", "healthy_threshold", integerKind(1, 100), 2),
    unhealthyThreshold: spec("EDGEPROXY_HEALTH_UNHEALTHY_THRESHOLD", "unhealthy_threshold", integerKind(1, 100), 3),
  },
} as const;

/** The file's settings tables, by table name. */
export const RELOADABLE_TABLES = { rate_limit: RATE_LIMIT, circuit_breaker: CIRCUIT, health_check: HEALTH_CHECK } as const;

type SectionValues<T> = T extends SectionSpec<infer S> ? S : never;

/**
 * A section's values from the environment. `fail(variable, form, raw)` throws the caller's error
 * (config.ts: ConfigError naming the variable); an unset or blank variable takes the default.
 */
export function sectionFromEnv<T extends SectionSpec<Record<string, unknown>>>(
  section: T,
  env: Readonly<Record<string, string | undefined>>,
  fail: (variable: string, form: string, raw: string) => never,
): SectionValues<T> {
  const out: Record<string, unknown> = {};
  for (const [field, s] of Object.entries(section.fields) as [string, SettingSpec<unknown>][]) {
    const raw = env[s.variable]?.trim();
    if (raw === undefined || raw === "") {
      out[field] = typeof s.fallback === "function" ? (s.fallback as (e: Record<string, unknown>) => unknown)(out) : s.fallback;
      continue;
    }
    const value = s.kind.fromText(raw);
    if (value === undefined) fail(s.variable, s.kind.textForm ?? s.kind.form, raw);
    out[field] = value;
  }
  return Object.freeze(out) as SectionValues<T>;
}

/**
 * A section's values from its file table over `base`: a key absent from the table keeps the base value.
 * `fail(key, detail)` throws the caller's error naming the file key (`rate_limit.burst`).
 */
export function sectionFromFile<T extends SectionSpec<Record<string, unknown>>>(
  section: T,
  table: Readonly<Record<string, unknown>>,
  base: SectionValues<T>,
  fail: (key: string, detail: string, value: unknown) => never,
): SectionValues<T> {
  const specs = Object.entries(section.fields) as [string, SettingSpec<unknown>][];
  for (const key of Object.keys(table)) {
    if (!specs.some(([, s]) => s.key === key)) fail(`${section.table}.${key}`, `unknown key (accepted: ${specs.map(([, s]) => s.key).join(", ")})`, undefined);
  }
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [field, s] of specs) {
    if (!(s.key in table)) continue;
    const value = s.kind.fromValue(table[s.key]);
    if (value === undefined) fail(`${section.table}.${s.key}`, `expected ${s.kind.form}`, table[s.key]);
    out[field] = value;
  }
  return Object.freeze(out) as SectionValues<T>;
}

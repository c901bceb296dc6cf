// The config file (TOML) → ReloadableSettings over a base (the env values). Every key is optional;
// a key absent from the file keeps its base value. Errors name the file and the key:
// `config file /etc/edgeproxy.toml: rate_limit.burst: expected an integer from 1 to 1000000, got -1`.
import { parse } from "smol-toml";
import { z } from "zod";
import { BACKEND_LIMITS } from "../core/backend-row.ts";
import type { BackendOverride } from "../core/backend-overrides.ts";
import type { ReloadableSettings } from "./settings.ts";

export class SettingsFileError extends Error {
  readonly variable = "EDGEPROXY_CONFIG_FILE";
  constructor(readonly file: string, readonly key: string | null, detail: string) {
    super(`config file ${file}: ${key === null ? "" : `${key}: `}${detail}`);
    this.name = "SettingsFileError";
  }
}

const MAX_SECS = 86_400;
const count = (max: number) => {
  const form = `expected an integer from 1 to ${max}`;
  return z.int({ error: form }).min(1, { error: form }).max(max, { error: form });
};
const flag = z.boolean({ error: "expected true or false" });

const rateLimit = z.strictObject({ enabled: flag, max_requests: count(1_000_000), window_secs: count(MAX_SECS), burst: count(1_000_000) }).partial();
const circuitBreaker = z
  .strictObject({ enabled: flag, failure_threshold: count(10_000), success_threshold: count(10_000), timeout_secs: count(MAX_SECS), half_open_probes: count(10_000) })
  .partial();
const healthCheck = z
  .strictObject({
    enabled: flag,
    interval_secs: count(MAX_SECS),
    timeout_secs: count(3600),
    type: z.enum(["tcp", "http"], { error: 'expected "tcp" or "http"' }),
    path: z.string({ error: 'expected a path starting with "/"' }).regex(/^\/[\x21-\x7e]{0,1023}$/, { error: 'expected a path starting with "/" (printable ASCII, no spaces)' }),
    healthy_threshold: count(100),
    unhealthy_threshold: count(100),
  })
  .partial();
const backend = z
  .strictObject({
    weight: count(BACKEND_LIMITS.maxWeight),
    soft_limit: count(BACKEND_LIMITS.maxLimit),
    hard_limit: count(BACKEND_LIMITS.maxLimit),
    proxy_protocol: z.enum(["off", "v1", "v2"], { error: 'expected "off", "v1" or "v2"' }),
  })
  .partial()
  .refine((b) => b.soft_limit === undefined || b.hard_limit === undefined || b.hard_limit >= b.soft_limit, {
    error: "expected hard_limit >= soft_limit",
    path: ["hard_limit"],
  });
const file = z
  .strictObject({
    rate_limit: rateLimit,
    circuit_breaker: circuitBreaker,
    health_check: healthCheck,
    backends: z.record(z.string().min(1).max(255), backend, { error: 'expected tables like [backends."sa-node-1"]' }),
  })
  .partial();

const SECTIONS = Object.keys(file.shape).join(", ");

/** Parses and validates the file's text; throws SettingsFileError naming the first bad key. */
export function parseSettingsFile(text: string, path: string, base: ReloadableSettings): ReloadableSettings {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new SettingsFileError(path, null, `not valid TOML: ${(err as Error).message.split("\n")[0]}`);
  }
  const result = file.safeParse(doc);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const at = issue.path.map((p) => (typeof p === "string" && /^[A-Za-z0-9_-]+$/.test(p) ? p : JSON.stringify(p)));
    if (issue.code === "unrecognized_keys") {
      const key = [...at, issue.keys[0]!].join(".");
      const accepted = at.length === 0 ? SECTIONS : at.length === 1 ? Object.keys(sectionShape(at[0]!)).join(", ") : "weight, soft_limit, hard_limit, proxy_protocol";
      throw new SettingsFileError(path, key, `unknown key (accepted: ${accepted})`);
    }
    const key = at.join(".") || "(top level)";
    throw new SettingsFileError(path, key, `${issue.message}, got ${show(valueAt(doc, issue.path))}`);
  }
  const f = result.data;
  const secs = (v: number | undefined, fallback: number) => (v === undefined ? fallback : v * 1000);
  const b = base;
  return Object.freeze({
    rateLimit: Object.freeze({
      enabled: f.rate_limit?.enabled ?? b.rateLimit.enabled,
      maxRequests: f.rate_limit?.max_requests ?? b.rateLimit.maxRequests,
      windowMs: secs(f.rate_limit?.window_secs, b.rateLimit.windowMs),
      burst: f.rate_limit?.burst ?? b.rateLimit.burst,
    }),
    circuit: Object.freeze({
      enabled: f.circuit_breaker?.enabled ?? b.circuit.enabled,
      failureThreshold: f.circuit_breaker?.failure_threshold ?? b.circuit.failureThreshold,
      successThreshold: f.circuit_breaker?.success_threshold ?? b.circuit.successThreshold,
      timeoutMs: secs(f.circuit_breaker?.timeout_secs, b.circuit.timeoutMs),
      halfOpenProbes: f.circuit_breaker?.half_open_probes ?? b.circuit.halfOpenProbes,
    }),
    healthCheck: Object.freeze({
      enabled: f.health_check?.enabled ?? b.healthCheck.enabled,
      intervalMs: secs(f.health_check?.interval_secs, b.healthCheck.intervalMs),
      timeoutMs: secs(f.health_check?.timeout_secs, b.healthCheck.timeoutMs),
      type: f.health_check?.type ?? b.healthCheck.type,
      path: f.health_check?.path ?? b.healthCheck.path,
      healthyThreshold: f.health_check?.healthy_threshold ?? b.healthCheck.healthyThreshold,
      unhealthyThreshold: f.health_check?.unhealthy_threshold ?? b.healthCheck.unhealthyThreshold,
    }),
    backends: new Map<string, BackendOverride>(
      Object.entries(f.backends ?? {}).map(([id, o]) => [id, Object.freeze({ weight: o.weight, softLimit: o.soft_limit, hardLimit: o.hard_limit, proxyProtocol: o.proxy_protocol })]),
    ),
  });
}

function sectionShape(section: string): Record<string, unknown> {
  const shapes: Record<string, Record<string, unknown>> = { rate_limit: rateLimit.shape, circuit_breaker: circuitBreaker.shape, health_check: healthCheck.shape };
  return shapes[section] ?? {};
}

function valueAt(doc: unknown, path: readonly PropertyKey[]): unknown {
  let v = doc;
  for (const p of path) v = v !== null && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[p] : undefined;
  return v;
}

function show(value: unknown): string {
  if (value === undefined) return "nothing";
  if (typeof value === "string") return JSON.stringify(value.length > 80 ? value.slice(0, 80) + "…" : value);
  if (typeof value === "object" && value !== null) return Array.isArray(value) ? "an array" : "a table";
  return String(value);
}

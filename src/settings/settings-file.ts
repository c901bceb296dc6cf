// The config file (TOML) → ReloadableSettings over a base (the env values). Every key is optional;
// a key absent from the file keeps its base value. Errors name the file and the key:
// `config file /etc/edgeproxy.toml: rate_limit.burst: expected an integer from 1 to 1000000, got -1`.
// The settings tables are read through reloadable-schema.ts, the same entries config.ts reads the
// variables through; [backends."<id>"] overrides are file-only.
import { parse } from "smol-toml";
import { BACKEND_LIMITS } from "../core/backend-row.ts";
import { isBackendId } from "../core/backend-id.ts";
import type { BackendOverride } from "../core/backend-overrides.ts";
import { CIRCUIT, HEALTH_CHECK, RATE_LIMIT, RELOADABLE_TABLES, sectionFromFile } from "./reloadable-schema.ts";
import { integerKind } from "./setting-kinds.ts";
import type { ReloadableSettings } from "./settings.ts";

export class SettingsFileError extends Error {
  readonly variable = "EDGEPROXY_CONFIG_FILE";
  readonly file: string;
  readonly key: string | null;
  constructor(file: string, key: string | null, detail: string) {
    super(`config file ${file}: ${key === null ? "" : `${key}: `}${detail}`);
    this.name = "SettingsFileError";
    this.file = file;
    this.key = key;
  }
}

const TABLES = [...Object.keys(RELOADABLE_TABLES), "backends"];
const OVERRIDE_KEYS = { weight: integerKind(1, BACKEND_LIMITS.maxWeight), soft_limit: integerKind(1, BACKEND_LIMITS.maxLimit), hard_limit: integerKind(1, BACKEND_LIMITS.maxLimit) } as const;
const PROXY_PROTOCOL_VALUES = ["off", "v1", "v2"] as const;

/** Parses and validates the file's text; throws SettingsFileError naming the first bad key. */
export function parseSettingsFile(text: string, path: string, base: ReloadableSettings): ReloadableSettings {
  let doc: Record<string, unknown>;
  try {
    doc = parse(text);
  } catch (err) {
    throw new SettingsFileError(path, null, `not valid TOML: ${(err as Error).message.split("\n")[0]}`);
  }
  const fail = (key: string, detail: string, value: unknown): never => {
    throw new SettingsFileError(path, key, value === undefined ? detail : `${detail}, got ${show(value)}`);
  };
  for (const key of Object.keys(doc)) if (!TABLES.includes(key)) fail(key, `unknown key (accepted: ${TABLES.join(", ")})`, undefined);
  const table = (name: string): Record<string, unknown> => {
    const t = doc[name] ?? {};
    return isTable(t) ? t : fail(name, "expected a table", t);
  };
  return Object.freeze({
    rateLimit: sectionFromFile(RATE_LIMIT, table(RATE_LIMIT.table), base.rateLimit, fail),
    circuit: sectionFromFile(CIRCUIT, table(CIRCUIT.table), base.circuit, fail),
    healthCheck: sectionFromFile(HEALTH_CHECK, table(HEALTH_CHECK.table), base.healthCheck, fail),
    backends: backendOverrides(doc.backends ?? {}, fail),
  });
}

function backendOverrides(value: unknown, fail: (key: string, detail: string, value: unknown) => never): Map<string, BackendOverride> {
  if (!isTable(value)) fail("backends", 'expected tables like [backends."sa-node-1"]', value);
  const out = new Map<string, BackendOverride>();
  for (const [id, entry] of Object.entries(value as Record<string, unknown>)) {
    const at = `backends.${/^[A-Za-z0-9_-]+$/.test(id) ? id : JSON.stringify(id)}`;
    if (!isBackendId(id)) fail("backends", 'expected tables like [backends."sa-node-1"] named by backend ids', id);
    if (!isTable(entry)) fail(at, "expected a table of weight, soft_limit, hard_limit, proxy_protocol", entry);
    const o = entry as Record<string, unknown>;
    const got: Record<string, number | undefined> = {};
    for (const key of Object.keys(o)) if (!(key in OVERRIDE_KEYS) && key !== "proxy_protocol") fail(`${at}.${key}`, `unknown key (accepted: ${[...Object.keys(OVERRIDE_KEYS), "proxy_protocol"].join(", ")})`, undefined);
    for (const [key, kind] of Object.entries(OVERRIDE_KEYS)) {
      if (!(key in o)) continue;
      got[key] = kind.fromValue(o[key]) ?? fail(`${at}.${key}`, `expected ${kind.form}`, o[key]);
    }
    if (got.soft_limit !== undefined && got.hard_limit !== undefined && got.hard_limit < got.soft_limit) fail(`${at}.hard_limit`, "expected hard_limit >= soft_limit", got.hard_limit);
    const proxyProtocol = o.proxy_protocol;
    if (proxyProtocol !== undefined && !PROXY_PROTOCOL_VALUES.includes(proxyProtocol as never)) fail(`${at}.proxy_protocol`, 'expected "off", "v1" or "v2"', proxyProtocol);
    out.set(id, Object.freeze({ weight: got.weight, softLimit: got.soft_limit, hardLimit: got.hard_limit, proxyProtocol: proxyProtocol as BackendOverride["proxyProtocol"] }));
  }
  return out;
}

/** A TOML table (not an array, not a date). */
function isTable(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function show(value: unknown): string {
  if (value === undefined) return "nothing";
  if (typeof value === "string") return JSON.stringify(value.length > 80 ? value.slice(0, 80) + "…" : value);
  if (typeof value === "object" && value !== null) return Array.isArray(value) ? "an array" : "a table";
  return String(value);
}

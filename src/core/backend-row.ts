// One `backends` row (as any store returns it) → a validated Backend, or the reason it is unusable.
// Every store, the CLI and the API validate through here, so a row means the same thing everywhere.
import type { Backend } from "./types.ts";
import { BACKEND_ID_FORM, isBackendId } from "./backend-id.ts";

export type BackendRowResult =
  | {
      readonly ok: true;
      readonly backend: Backend;
      /** Values that were out of shape and replaced so the backend still routes, one reason each
       *  (e.g. a hard_limit lowered below soft_limit: soft_limit taken as hard_limit). Empty for a clean row. */
      readonly adjusted: readonly string[];
    }
  | { readonly ok: false; readonly id: string | null; readonly reason: string };

export const BACKEND_LIMITS = {
  maxWeight: 1_000_000,
  maxLimit: 1_000_000,
  defaultWeight: 1,
  defaultSoftLimit: 100,
  defaultHardLimit: 150,
} as const;

/** Thrown inside the parser only; turned into `{ ok: false }` before it leaves this file. */
class RowProblem {
  readonly reason: string;
  constructor(reason: string) {
    this.reason = reason;
  }
}

/**
 * Reads a raw row as the proxy routes it. Columns: id, app, region, country, wg_ip, port, healthy,
 * weight, soft_limit, hard_limit, version. NULL means: country → no country tier, healthy → unhealthy,
 * weight → 1, soft_limit → 100, hard_limit → max(150, soft_limit), app → "", version → 0. Deleted rows
 * must be filtered out by the caller. Integer columns accept numbers and bigints; healthy also accepts
 * booleans (PostgreSQL).
 *
 * Only a row that cannot be routed at all is refused: no usable id, address or port, an unreadable
 * region, or a hard_limit below 1 or unreadable (the hard limit is the cap and is honoured, so an
 * unknown cap routes nothing). Other values out of shape are replaced and reported in `adjusted`: the
 * soft limit is min(soft_limit, hard_limit) (an operator lowering hard_limit by hand during an incident
 * keeps the backend routed up to it), weight and limits are brought into range, a bad country means no
 * country tier, a bad healthy flag means unhealthy.
 */
export function parseBackendRow(raw: Readonly<Record<string, unknown>>): BackendRowResult {
  const adjusted: string[] = [];
  /** The strict check, or the fallback with the reason noted when the column has one. */
  const lenient = <T>(column: keyof typeof COLUMNS, fallback: (value: unknown) => T | undefined, value: unknown): T => {
    try {
      return COLUMNS[column](value) as T;
    } catch (err) {
      const replacement = err instanceof RowProblem ? fallback(value) : undefined;
      if (replacement === undefined) throw err;
      adjusted.push(`${(err as RowProblem).reason}; routed with ${JSON.stringify(replacement)}`);
      return replacement;
    }
  };
  try {
    const id = COLUMNS.id(raw.id);
    const hard = hardLimitCap(raw.hard_limit, adjusted);
    const soft = lenient("soft_limit", (v) => clampedInt(v, BACKEND_LIMITS.maxLimit, BACKEND_LIMITS.defaultSoftLimit), raw.soft_limit);
    const hardLimit = hard ?? Math.max(BACKEND_LIMITS.defaultHardLimit, soft);
    if (soft > hardLimit) adjusted.push(`soft_limit: ${soft} is above hard_limit ${hardLimit}; routed with soft_limit ${hardLimit}`);
    const backend: Backend = {
      id,
      app: lenient("app", () => "", raw.app),
      region: COLUMNS.region(raw.region),
      country: lenient<string | null>("country", () => null, raw.country),
      host: COLUMNS.wg_ip(raw.wg_ip),
      port: COLUMNS.port(raw.port),
      healthy: lenient("healthy", () => false, raw.healthy),
      weight: lenient("weight", (v) => clampedInt(v, BACKEND_LIMITS.maxWeight, BACKEND_LIMITS.defaultWeight), raw.weight),
      softLimit: Math.min(soft, hardLimit),
      hardLimit,
      version: lenient("version", () => 0, raw.version),
    };
    return { ok: true, backend, adjusted };
  } catch (err) {
    if (err instanceof RowProblem) return { ok: false, id: isBackendId(raw.id) ? raw.id : null, reason: err.reason };
    throw err;
  }
}

/** A number out of 1..max brought into it (fractions rounded down); anything else the default. */
function clampedInt(value: unknown, max: number, fallback: number): number {
  const n = toNumber(value);
  return n === null || !Number.isFinite(n) ? fallback : Math.min(max, Math.max(1, Math.floor(n)));
}

/** hard_limit as the cap, null for NULL (the default applies); one above the maximum is lowered to it. */
function hardLimitCap(value: unknown, adjusted: string[]): number | null {
  if (value === null || value === undefined) return null;
  const n = toNumber(value);
  if (n !== null && Number.isInteger(n) && n > BACKEND_LIMITS.maxLimit) {
    adjusted.push(`hard_limit: ${n} is above ${BACKEND_LIMITS.maxLimit}; routed with ${BACKEND_LIMITS.maxLimit}`);
    return BACKEND_LIMITS.maxLimit;
  }
  if (n === null || !Number.isInteger(n) || n < 1) {
    throw new RowProblem(`hard_limit: expected an integer from 1 to ${BACKEND_LIMITS.maxLimit} or NULL, got ${show(value)} (the cap cannot be honoured, so the row is not routed)`);
  }
  return n;
}

/**
 * Checks only the columns present in `partial` (a partial update such as `{ weight: 0 }`) with the same
 * rules as parseBackendRow; hard_limit is checked against soft_limit when both are given. Returns the
 * first reason, or null when they are all acceptable.
 */
export function checkBackendColumns(partial: Readonly<Record<string, unknown>>): string | null {
  try {
    for (const [column, value] of Object.entries(partial)) {
      if (column === "hard_limit") {
        hardLimit(value, "soft_limit" in partial ? COLUMNS.soft_limit(partial.soft_limit) : 1);
      } else if (Object.hasOwn(COLUMNS, column)) {
        COLUMNS[column as keyof typeof COLUMNS](value);
      }
    }
    return null;
  } catch (err) {
    if (err instanceof RowProblem) return err.reason;
    throw err;
  }
}

/** One check per column (hard_limit needs soft_limit, see hardLimit). Each throws a RowProblem. */
const COLUMNS = {
  id: (v: unknown) => {
    if (!isBackendId(v)) throw new RowProblem(`id: expected ${BACKEND_ID_FORM}, got ${show(v)}`);
    return v;
  },
  app,
  region,
  country,
  wg_ip: host,
  port: (v: unknown) => integer("port", v, 1, 65535, null),
  healthy,
  weight: (v: unknown) => integer("weight", v, 1, BACKEND_LIMITS.maxWeight, BACKEND_LIMITS.defaultWeight),
  soft_limit: (v: unknown) => integer("soft_limit", v, 1, BACKEND_LIMITS.maxLimit, BACKEND_LIMITS.defaultSoftLimit),
  version: (v: unknown) => integer("version", v, 0, Number.MAX_SAFE_INTEGER, 0),
} as const;

/** How a rejected value is quoted in a reason: NULL, numbers bare, text in quotes. */
function show(value: unknown): string {
  if (value === null || value === undefined) return "NULL";
  if (typeof value === "string") return JSON.stringify(value.length > 80 ? value.slice(0, 80) + "…" : value);
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean") return String(value);
  return `a ${Object.prototype.toString.call(value).slice(8, -1)}`;
}

function toNumber(value: unknown): number | null {
  if (typeof value === "number") return value;
  if (typeof value === "bigint") return Number(value);
  return null;
}

function integer(column: string, value: unknown, min: number, max: number, fallback: number | null): number {
  if ((value === null || value === undefined) && fallback !== null) return fallback;
  const n = toNumber(value);
  if (n === null || !Number.isInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `${min}-${max}`;
    throw new RowProblem(`${column}: expected an integer ${range}${fallback === null ? "" : " or NULL"}, got ${show(value)}`);
  }
  return n;
}

function hardLimit(value: unknown, softLimit: number): number {
  if (value === null || value === undefined) return Math.max(BACKEND_LIMITS.defaultHardLimit, softLimit);
  const n = toNumber(value);
  if (n === null || !Number.isInteger(n) || n < softLimit || n > BACKEND_LIMITS.maxLimit) {
    throw new RowProblem(`hard_limit: expected an integer from soft_limit (${softLimit}) to ${BACKEND_LIMITS.maxLimit} or NULL, got ${show(value)}`);
  }
  return n;
}

function healthy(value: unknown): boolean {
  if (value === null || value === undefined || value === 0 || value === 0n || value === false) return false;
  if (value === 1 || value === 1n || value === true) return true;
  throw new RowProblem(`healthy: expected 0 or 1 or NULL, got ${show(value)}`);
}

function app(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "string") return value;
  throw new RowProblem(`app: expected text or NULL, got ${show(value)}`);
}

const REGION = /^[a-z0-9][a-z0-9_.-]{0,62}$/i;

function region(value: unknown): string {
  if (typeof value === "string" && REGION.test(value)) return value.toLowerCase();
  throw new RowProblem(`region: expected a region code (letters, digits, "-", "_", "."; 1-63 characters, e.g. "sa"), got ${show(value)}`);
}

function country(value: unknown): string | null {
  // An empty string is how a cleared text field often comes back from hand edits: no country.
  if (value === null || value === undefined || value === "") return null;
  if (typeof value === "string" && /^[a-z]{2}$/i.test(value)) return value.toUpperCase();
  throw new RowProblem(`country: expected a 2-letter ISO 3166-1 code or NULL, got ${show(value)}`);
}

function host(value: unknown): string {
  if (typeof value === "string" && (isIPv4(value) || isIPv6(value) || isHostname(value))) return value;
  throw new RowProblem(`wg_ip: expected an IPv4 address, an IPv6 address without brackets or a hostname, got ${show(value)}`);
}

const IPV4_PART = /^(?:0|[1-9][0-9]{0,2})$/; // no leading zeros: "010" is octal to some resolvers

export function isIPv4(text: string): boolean {
  const parts = text.split(".");
  return parts.length === 4 && parts.every((p) => IPV4_PART.test(p) && Number(p) <= 255);
}

const HEX_GROUP = /^[0-9a-f]{1,4}$/i;

/** RFC 4291 text form, with an optional embedded IPv4 tail and an optional zone ("%wg0"). */
export function isIPv6(text: string): boolean {
  const zone = text.indexOf("%");
  const addr = zone === -1 ? text : text.slice(0, zone);
  if (zone !== -1 && !/^[a-z0-9_.-]+$/i.test(text.slice(zone + 1))) return false;
  const halves = addr.split("::");
  if (halves.length > 2) return false;
  const groups = (half: string): string[] | null => (half === "" ? [] : half.split(":"));
  const head = groups(halves[0]!), tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (head === null || tail === null) return false;
  const all = [...head, ...tail];
  let count = all.length;
  const last = all[all.length - 1];
  if (last !== undefined && last.includes(".")) {
    if (!isIPv4(last)) return false;
    all.pop();
    count += 1; // an IPv4 tail fills two groups
  }
  if (!all.every((g) => HEX_GROUP.test(g))) return false;
  return halves.length === 2 ? count <= 7 : count === 8;
}

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;

/** RFC 1123 host name; an all-numeric name must be a valid IPv4 address instead (so "999.1.1.1" fails). */
export function isHostname(text: string): boolean {
  const name = text.endsWith(".") ? text.slice(0, -1) : text;
  if (name.length === 0 || name.length > 253 || /^[0-9.]+$/.test(name)) return false;
  return name.split(".").every((label) => LABEL.test(label));
}

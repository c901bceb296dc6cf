// Checks for each command-line argument. Value rules are the store's own (core/backend-row.ts), so the
// CLI accepts exactly what the proxy routes; each failure names the argument and the accepted form.
import { BACKEND_LIMITS, checkBackendColumns, isHostname, isIPv4, isIPv6 } from "../core/backend-row.ts";
import { BACKEND_ID_FORM, isBackendId, isPlainText } from "../core/backend-id.ts";
import { UsageError } from "./usage-error.ts";

function quote(raw: string): string {
  return JSON.stringify(raw.length > 60 ? raw.slice(0, 60) + "…" : raw);
}

export function backendId(raw: string, name = "id"): string {
  if (isBackendId(raw)) return raw;
  throw new UsageError(name, `${name}: expected ${BACKEND_ID_FORM}, got ${quote(raw)}`);
}

export function region(raw: string): string {
  if (checkBackendColumns({ region: raw }) === null) return raw.toLowerCase();
  throw new UsageError("region", `region: expected a region code such as sa, us, eu, ap (letters, digits, "-", "_", "."; 1-63 characters), got ${quote(raw)}`);
}

/** IPv4, IPv6 (brackets allowed and removed) or hostname. */
export function host(raw: string): string {
  const bare = raw.startsWith("[") && raw.endsWith("]") ? raw.slice(1, -1) : raw;
  if (isIPv4(bare) || isIPv6(bare) || isHostname(bare)) return bare;
  throw new UsageError("ip", `ip: expected an IPv4 address, an IPv6 address or a hostname, got ${quote(raw)}`);
}

export function integer(name: string, raw: string, min: number, max: number): number {
  const n = /^[0-9]{1,16}$/.test(raw) ? Number(raw) : NaN;
  if (Number.isSafeInteger(n) && n >= min && n <= max) return n;
  throw new UsageError(name, `${name}: expected an integer from ${min} to ${max}, got ${quote(raw)}`);
}

export const port = (raw: string) => integer("port", raw, 1, 65535);
export const weight = (raw: string) => integer("weight", raw, 1, BACKEND_LIMITS.maxWeight);

export function limits(softRaw: string, hardRaw: string, names = { soft: "soft", hard: "hard" }): { soft: number; hard: number } {
  const soft = integer(names.soft, softRaw, 1, BACKEND_LIMITS.maxLimit);
  const hard = integer(names.hard, hardRaw, 1, BACKEND_LIMITS.maxLimit);
  if (soft > hard) throw new UsageError(names.hard, `${names.hard}: expected at least the soft limit (${soft}), got ${hard}`);
  return { soft, hard };
}

export function country(raw: string): string {
  if (/^[A-Za-z]{2}$/.test(raw)) return raw.toUpperCase();
  throw new UsageError("--country", `--country: expected a 2-letter ISO 3166-1 code such as BR, got ${quote(raw)}`);
}

export function app(raw: string): string {
  if (raw.length <= 255 && isPlainText(raw)) return raw;
  throw new UsageError("--app", `--app: expected text of at most 255 characters without control characters or lone surrogates, got ${quote(raw)}`);
}

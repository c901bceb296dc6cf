// POST /api/v1/register body: schema (zod) → BackendInput, or the first bad field and what it accepts.
// The value rules are the store's own (core/backend-row.ts), so the API accepts exactly what routes.
import { z } from "zod";
import { BACKEND_LIMITS, checkBackendColumns, isHostname, isIPv4, isIPv6 } from "../core/backend-row.ts";
import { BACKEND_ID_FORM, isBackendId, isPlainText } from "../core/backend-id.ts";
import type { BackendInput } from "../store/routing-store.ts";
import { defaultCountry } from "./region-country.ts";
import { show } from "./api-error.ts";

/** Defaults of a registration (DESIGN.md); hard_limit defaults to max(150, soft_limit). */
export const REGISTER_DEFAULTS = { weight: 2, softLimit: 100, hardLimit: 150 } as const;

/** Backend ids: the one rule of core/backend-id.ts (anything else, quotes included, is just text). */
export const backendId = z.string().refine(isBackendId);

const limit = (max: number) => z.int().min(1).max(max);

const schema = z.strictObject({
  id: backendId,
  app: z.string().max(255).refine(isPlainText),
  region: z.string().refine((v) => checkBackendColumns({ region: v }) === null),
  country: z.string().regex(/^[A-Za-z]{2}$/).nullable().optional(),
  ip: z.string().max(253).refine((v) => isIPv4(v) || isIPv6(v) || isHostname(v)),
  port: z.int().min(1).max(65535),
  weight: limit(BACKEND_LIMITS.maxWeight).optional(),
  soft_limit: limit(BACKEND_LIMITS.maxLimit).optional(),
  hard_limit: limit(BACKEND_LIMITS.maxLimit).optional(),
});

const FIELDS = Object.keys(schema.shape);

/** The accepted form of each field, for error messages. */
const FORMS: Readonly<Record<string, string>> = {
  id: BACKEND_ID_FORM,
  app: "text of at most 255 characters without control characters or lone surrogates",
  region: 'a region code (letters, digits, "-", "_", "."; 1-63 characters, e.g. "sa")',
  country: "a 2-letter ISO 3166-1 code or null",
  ip: "an IPv4 address, an IPv6 address without brackets or a hostname",
  port: "an integer from 1 to 65535",
  weight: `an integer from 1 to ${BACKEND_LIMITS.maxWeight}`,
  soft_limit: `an integer from 1 to ${BACKEND_LIMITS.maxLimit}`,
  hard_limit: `an integer from 1 to ${BACKEND_LIMITS.maxLimit}`,
};

export type BodyCheck<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly field: string; readonly error: string };

export function parseRegisterBody(body: unknown, nowMs: number): BodyCheck<BackendInput> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return { ok: false, field: "body", error: `body: expected a JSON object with ${FIELDS.join(", ")}, got ${show(body)}` };
  }
  const result = schema.safeParse(body);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    if (issue.code === "unrecognized_keys") {
      const key = issue.keys[0]!;
      return { ok: false, field: key, error: `${key}: unknown field (accepted: ${FIELDS.join(", ")})` };
    }
    const field = String(issue.path[0] ?? "body");
    const value = (body as Record<string, unknown>)[field];
    const form = FORMS[field] ?? "a valid value";
    return { ok: false, field, error: value === undefined ? `${field}: required, expected ${form}` : `${field}: expected ${form}, got ${show(value)}` };
  }
  const b = result.data;
  const softLimit = b.soft_limit ?? REGISTER_DEFAULTS.softLimit;
  const hardLimit = b.hard_limit ?? Math.max(REGISTER_DEFAULTS.hardLimit, softLimit);
  if (hardLimit < softLimit) {
    return { ok: false, field: "hard_limit", error: `hard_limit: expected an integer from soft_limit (${softLimit}) to ${BACKEND_LIMITS.maxLimit}, got ${hardLimit}` };
  }
  const region = b.region.toLowerCase();
  return {
    ok: true,
    value: {
      id: b.id,
      app: b.app,
      region,
      country: b.country === undefined ? defaultCountry(region) : b.country === null ? null : b.country.toUpperCase(),
      host: b.ip,
      port: b.port,
      healthy: true,
      weight: b.weight ?? REGISTER_DEFAULTS.weight,
      softLimit,
      hardLimit,
      lastHeartbeatMs: nowMs,
    },
  };
}

// Every error the API answers is JSON `{ error, field }`: `field` names what was wrong (a body field,
// "body", "id", "authorization", "route"), `error` says what was expected.
import type { Context } from "hono";

export type ErrorStatus = 400 | 401 | 404 | 405 | 409 | 503;

export interface ApiErrorBody {
  readonly error: string;
  readonly field: string | null;
}

export function apiError(c: Context, status: ErrorStatus, field: string | null, error: string, headers?: Record<string, string>): Response {
  return c.json({ error, field } satisfies ApiErrorBody, status, headers);
}

/** How a rejected value is quoted in a message: short, never a whole body. */
export function show(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (typeof value === "string") return JSON.stringify(value.length > 60 ? value.slice(0, 60) + "…" : value);
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return Array.isArray(value) ? "an array" : "an object";
}

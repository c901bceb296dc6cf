// Uniform connect errors on every runtime: "connect ECONNREFUSED 127.0.0.1:9".
import type { HostPort } from "./types.ts";

/** Error with the errno-style code the proxy can branch on (refused, timeout, DNS, ...). */
export interface ConnectError extends Error {
  readonly code: string;
}

export function formatTarget(target: HostPort): string {
  return target.host.includes(":") ? `[${target.host}]:${target.port}` : `${target.host}:${target.port}`;
}

function withCode(message: string, code: string): ConnectError {
  return Object.assign(new Error(message), { code });
}

export function connectFailed(code: string, target: HostPort): ConnectError {
  return withCode(`connect ${code} ${formatTarget(target)}`, code);
}

export function connectTimedOut(timeoutMs: number, target: HostPort): ConnectError {
  return withCode(`connect timeout after ${timeoutMs} ms to ${formatTarget(target)}`, "ETIMEDOUT");
}

/** Best-effort errno code from whatever a runtime threw (Node/Bun `code`, Deno error classes). */
export function errorCode(error: unknown): string {
  const e = error as { code?: unknown; name?: unknown; message?: unknown } | null;
  if (e && typeof e.code === "string" && e.code !== "") return e.code;
  const byName: Record<string, string> = {
    ConnectionRefused: "ECONNREFUSED",
    ConnectionReset: "ECONNRESET",
    TimedOut: "ETIMEDOUT",
    NotFound: "ENOTFOUND",
    AddrNotAvailable: "EADDRNOTAVAIL",
    PermissionDenied: "EACCES",
  };
  if (e && typeof e.name === "string" && byName[e.name]) return byName[e.name]!;
  const message = e && typeof e.message === "string" ? e.message : String(error);
  if (/lookup address|Name or service not known|ENOTFOUND/i.test(message)) return "ENOTFOUND";
  if (/unreachable/i.test(message)) return "EHOSTUNREACH";
  return "ECONNFAILED";
}

// Uniform socket errors on every runtime: "connect ECONNREFUSED 127.0.0.1:9", "listen EADDRINUSE [::]:8080".
import type { HostPort } from "./types.ts";
import { hostPort } from "../core/host-port.ts";

/** Error with the errno-style code the caller can branch on (refused, timeout, DNS, in use, ...). */
export interface SocketError extends Error {
  readonly code: string;
}

export function formatTarget(target: HostPort): string {
  return hostPort(target.host, target.port);
}

function withCode(message: string, code: string): SocketError {
  return Object.assign(new Error(message), { code });
}

export function connectFailed(code: string, target: HostPort): SocketError {
  return withCode(`connect ${code} ${formatTarget(target)}`, code);
}

export function listenFailed(error: unknown, address: HostPort): SocketError {
  return withCode(`listen ${errorCode(error)} ${formatTarget(address)}`, errorCode(error));
}

export function connectTimedOut(timeoutMs: number, target: HostPort): SocketError {
  return withCode(`connect timeout after ${timeoutMs} ms to ${formatTarget(target)}`, "ETIMEDOUT");
}

/** Best-effort errno code from whatever a runtime threw (Node/Bun `code`, Deno error classes). */
export function errorCode(error: unknown): string {
  const e = error as { code?: unknown; name?: unknown; message?: unknown } | null;
  if (e && typeof e.code === "string" && e.code !== "") return e.code;
  const byName: Record<string, string> = {
    ConnectionRefused: "ECONNREFUSED",
    ConnectionReset: "ECONNRESET",
    AddrInUse: "EADDRINUSE",
    TimedOut: "ETIMEDOUT",
    NotFound: "ENOTFOUND",
    AddrNotAvailable: "EADDRNOTAVAIL",
    PermissionDenied: "EACCES",
  };
  if (e && typeof e.name === "string" && byName[e.name]) return byName[e.name]!;
  const message = e && typeof e.message === "string" ? e.message : String(error);
  if (/lookup address|Name or service not known|ENOTFOUND/i.test(message)) return "ENOTFOUND";
  if (/unreachable/i.test(message)) return "EHOSTUNREACH";
  return "EUNKNOWN";
}

/** The runtime refused a certificate/key pair (not PEM, no certificate, key does not match, ...). */
export function credentialsRejected(error: unknown): SocketError {
  const message = error instanceof Error ? error.message : String(error);
  return withCode(`TLS certificate or key rejected: ${message}`, "ETLSCREDENTIALS");
}

/** Errors with an errno code (EADDRINUSE, EACCES, ...) are about the address; anything else a runtime
 *  throws while creating a TLS listener (OpenSSL/rustls errors) is about the certificate or key. */
export function tlsListenFailed(error: unknown, address: HostPort): SocketError {
  const code = errorCode(error);
  return /^E[A-Z]+$/.test(code) && code !== "EUNKNOWN" ? listenFailed(error, address) : credentialsRejected(error);
}

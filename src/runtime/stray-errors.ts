// A connection-level error that nobody listens to any more must not kill a POP. Seen on Deno: when
// NATS refuses the login, @nats-io/transport-node removes its socket's listeners and destroys it, and a
// reset that arrives afterwards is thrown as an uncaught "read ECONNRESET" (Deno's node:net emits it
// with no handler left; Node and Bun do not). Only such errors are swallowed, with a warning; every
// other uncaught error still ends the process as before.
import { detectRuntime } from "./detect.ts";

const STRAY_CODES = new Set(["ECONNRESET", "EPIPE", "ECONNABORTED"]);

type ErrorEventTarget = { addEventListener(type: "error", listener: (event: { error?: unknown; preventDefault(): void }) => void): void };

/** True for an error this guard swallows (exported for its test). */
export function isStraySocketError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && STRAY_CODES.has(code);
}

export function ignoreStraySocketErrors(warn: (message: string, fields: Record<string, unknown>) => void): void {
  if (detectRuntime() !== "deno") return;
  (globalThis as unknown as ErrorEventTarget).addEventListener("error", (event) => {
    if (!isStraySocketError(event.error)) return;
    event.preventDefault();
    warn("stray socket error ignored (a connection closed after its owner stopped listening)", { code: (event.error as { code: string }).code, error: String((event.error as Error).message ?? event.error) });
  });
}

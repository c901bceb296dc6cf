// SIGTERM / SIGINT on every runtime (node:process signal events work on Node, Bun and Deno).
import process from "node:process";

export type ShutdownSignal = "SIGTERM" | "SIGINT";

export function onShutdownSignal(handler: (signal: ShutdownSignal) => void): void {
  for (const signal of ["SIGTERM", "SIGINT"] as const) process.on(signal, () => handler(signal));
}

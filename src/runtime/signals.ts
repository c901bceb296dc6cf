// SIGTERM / SIGINT on every runtime (node:process signal events work on Node, Bun and Deno).
import process from "node:process";

export type ShutdownSignal = "SIGTERM" | "SIGINT";

/** Calls handler on SIGTERM or SIGINT; returns a function that removes the listeners again. */
export function onShutdownSignal(handler: (signal: ShutdownSignal) => void): () => void {
  const listeners = (["SIGTERM", "SIGINT"] as const).map((signal) => {
    const listener = () => handler(signal);
    process.on(signal, listener);
    return () => process.off(signal, listener);
  });
  return () => listeners.forEach((remove) => remove());
}

// Entry point of the runtime layer: which runtime is this, and its transport adapter.
import { detectRuntime } from "./detect.ts";
import type { RuntimeName, Transport } from "./types.ts";

export { detectRuntime } from "./detect.ts";
export type * from "./types.ts";

/** Dynamically imports only the adapter for `runtime`, so other runtimes' globals are never touched. */
export async function loadTransport(runtime: RuntimeName = detectRuntime()): Promise<Transport> {
  switch (runtime) {
    case "bun":
      return (await import("./bun/transport.ts")).createTransport();
    case "deno":
      return (await import("./deno/transport.ts")).createTransport();
    case "node":
      return (await import("./node/transport.ts")).createTransport();
  }
}

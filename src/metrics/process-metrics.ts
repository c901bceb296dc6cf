// prom-client's default process metrics, kept where they are cheap and meaningful on the runtime.
import { collectDefaultMetrics, type Registry } from "prom-client";
import type { RuntimeName } from "../runtime/types.ts";

/** Gauges named `_total` fail `promtool check metrics`; the same counts stay as nodejs_active_handles,
 *  nodejs_active_requests and nodejs_active_resources (by type). */
const MISNAMED = ["nodejs_active_handles_total", "nodejs_active_requests_total", "nodejs_active_resources_total"];

/** On Bun the V8 heap-space collector is slow and reports zeros. */
const SKIPPED: Readonly<Record<RuntimeName, readonly string[]>> = {
  node: [],
  deno: [],
  bun: ["nodejs_heap_space_size_total_bytes", "nodejs_heap_space_size_used_bytes", "nodejs_heap_space_size_available_bytes"],
};

export function registerProcessMetrics(registry: Registry, runtime: RuntimeName): void {
  collectDefaultMetrics({ register: registry });
  for (const name of [...MISNAMED, ...SKIPPED[runtime]]) registry.removeSingleMetric(name);
}

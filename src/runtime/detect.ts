// The one place that probes globalThis to learn which runtime we are on.
import type { RuntimeName } from "./types.ts";

const probe = globalThis as { Bun?: unknown; Deno?: unknown };

export function detectRuntime(): RuntimeName {
  if (probe.Bun !== undefined) return "bun";
  if (probe.Deno !== undefined) return "deno";
  return "node";
}

const labels = { node: "Node", bun: "Bun", deno: "Deno" } as const;

/** Throws the clear wrong-runtime error when an adapter module is loaded elsewhere. */
export function assertRuntime(expected: RuntimeName): void {
  if (detectRuntime() !== expected) {
    throw new Error(`[edgeproxy] ${labels[expected]} adapter used outside ${labels[expected]}`);
  }
}

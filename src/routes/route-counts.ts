// Reads over the live route table for the control plane: how many backends are routable (GET /health)
// and each backend's active connections (live state for `db show`). Slots fill from 0, so a scan stops
// as soon as it has seen every backend in the table.
import type { Backend } from "../core/types.ts";
import type { LiveCount } from "./live-state.ts";

export interface RoutedSlots {
  readonly size: number;
  backendAt(slot: number): Backend | null;
}

/** Calls fn for every backend in the table with its slot. */
export function forEachRouted(table: RoutedSlots, capacity: number, fn: (backend: Backend, slot: number) => void): void {
  let seen = 0;
  for (let slot = 0; slot < capacity && seen < table.size; slot++) {
    const backend = table.backendAt(slot);
    if (backend === null) continue;
    seen++;
    fn(backend, slot);
  }
}

/** Healthy backends in the current route snapshot (deleted and invalid rows are never in it), less
 *  those `out` excludes (active health check down, circuit open): the effective health. */
export function routableCount(table: RoutedSlots, capacity: number, out?: (backend: Backend, slot: number) => boolean): number {
  let n = 0;
  forEachRouted(table, capacity, (b, slot) => { if (b.healthy && !out?.(b, slot)) n++; });
  return n;
}

/** One entry per backend in the table with its active connection count (and health check result). */
export function liveCounts(table: RoutedSlots, capacity: number, active: (slot: number) => number, probe?: (id: string) => string | null): LiveCount[] {
  const out: LiveCount[] = [];
  forEachRouted(table, capacity, (b, slot) => out.push({ id: b.id, active: active(slot), probe: probe?.(b.id) ?? null }));
  return out;
}

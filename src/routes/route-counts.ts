// Reads over the live route table for the control plane: how many backends are routable (GET /health)
// and each backend's active connections (live state for `db show`). Slots fill from 0, so a scan stops
// as soon as it has seen every backend in the table.
import type { Backend } from "../core/types.ts";
import type { LiveCount } from "./live-state.ts";
import { CIRCUIT_STATE_NAMES } from "../core/circuit.ts";

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

/** Backends routable now (SelectionEngine.isRoutable: store healthy, probe not down, circuit not open): GET /health, the gauge. */
export function routableCount(table: RoutedSlots, engine: { readonly capacity: number; isRoutable(slot: number): boolean }): number {
  let n = 0;
  forEachRouted(table, engine.capacity, (_, slot) => { if (engine.isRoutable(slot)) n++; });
  return n;
}

/** The backend `id` as routed now when it is routable (the pool keeps sockets only for these), else null. */
export function routableBackend(table: Pick<RoutedSlots, "backendAt"> & { slotOf(id: string): number | undefined }, engine: { isRoutable(slot: number): boolean }, id: string): Backend | null {
  const slot = table.slotOf(id);
  return slot !== undefined && engine.isRoutable(slot) ? table.backendAt(slot) : null;
}

/** The engine's reads that the live state publishes per backend. */
export interface LiveSlots {
  readonly capacity: number;
  active(slot: number): number;
  circuitState(slot: number): number;
}

/** One entry per backend in the table: active connections, circuit state (null while the breaker is
 *  off) and health check result (null when not probed). */
export function liveCounts(table: RoutedSlots, engine: LiveSlots, from: { readonly circuitsOn?: boolean; readonly probe?: (id: string) => string | null } = {}): LiveCount[] {
  const out: LiveCount[] = [];
  forEachRouted(table, engine.capacity, (b, slot) => out.push({
    id: b.id,
    active: engine.active(slot),
    circuit: from.circuitsOn ? (CIRCUIT_STATE_NAMES[engine.circuitState(slot)] ?? null) : null,
    probe: from.probe?.(b.id) ?? null,
  }));
  return out;
}

// Graceful shutdown: once draining, /health says so; the listener is already closed by the caller;
// connections in flight get until the deadline to finish by themselves, then the rest are aborted.
import type { Clock, Splice } from "../runtime/types.ts";
import type { Logger } from "./log.ts";

/** Set once when shutdown starts; read by /health and the metrics. */
export class DrainState {
  #draining = false;

  get draining(): boolean {
    return this.#draining;
  }

  begin(): void {
    this.#draining = true;
  }
}

export interface DrainTarget {
  /** Client connections still being handled (connecting or spliced). */
  active(): number;
  /** Splices in progress, aborted at the deadline. */
  readonly inFlight: Iterable<Splice>;
}

export interface DrainOutcome {
  /** Every connection finished before the deadline. */
  readonly finished: boolean;
  /** Connections closed at the deadline. */
  readonly aborted: number;
}

const POLL_MS = 25;

/** Waits until no connection is active or `timeoutMs` passed; then aborts what is left. */
export async function drainConnections(target: DrainTarget, timeoutMs: number, log: Logger, clock: Clock): Promise<DrainOutcome> {
  const deadline = clock.now() + timeoutMs;
  if (target.active() > 0) log.info("draining connections", { active: target.active(), timeout_secs: timeoutMs / 1000 });
  while (target.active() > 0 && clock.now() < deadline) {
    await new Promise<void>((resolve) => clock.after(Math.min(POLL_MS, Math.max(1, deadline - clock.now())), resolve));
  }
  if (target.active() === 0) return { finished: true, aborted: 0 };
  const splices = [...target.inFlight];
  const aborted = splices.length;
  for (const splice of splices) splice.abort();
  log.warn("shutdown timeout: closing connections still open", { aborted, active: target.active(), timeout_secs: timeoutMs / 1000 });
  return { finished: false, aborted };
}

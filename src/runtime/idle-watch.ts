// Idle timeouts of every splice on one timer per timeout value, instead of a timer per connection
// (a timer object per socket on Node and Bun, and timer work in the runtime per connection on Deno).
// A coarse tick compares each splice's byte total with the one it saw last time.

const ticksPerTimeout = 4;

/** What the sweep reads and ends (SpliceTally). */
export interface IdleWatched {
  readonly bytesFromClient: number;
  readonly bytesToClient: number;
  /** Byte total at the last tick, and quiet ticks since (the sweep's own fields on the splice). */
  idleLast: number;
  idleQuiet: number;
  end(reason: "idle"): void;
}

/** Arms `fn` after `ms`; returns the cancel function. Injected by tests. */
export type Schedule = (fn: () => void, ms: number) => () => void;

const realSchedule: Schedule = (fn, ms) => {
  const timer = setTimeout(fn, ms);
  return () => clearTimeout(timer);
};

/**
 * Ends a splice with reason "idle" once no byte moved for idleTimeoutMs, never earlier and at most
 * 25 % later. The timer runs only while some splice is watched.
 */
export class IdleSweep {
  readonly tickMs: number;
  readonly #watched = new Set<IdleWatched>();
  #cancel: (() => void) | null = null;

  private readonly schedule: Schedule;
  constructor(idleTimeoutMs: number, schedule: Schedule = realSchedule) {
    this.schedule = schedule;
    this.tickMs = Math.max(1, Math.ceil(idleTimeoutMs / ticksPerTimeout));
  }

  get size(): number {
    return this.#watched.size;
  }

  add(splice: IdleWatched): void {
    splice.idleLast = splice.bytesFromClient + splice.bytesToClient;
    // Joined somewhere within the current tick: the first tick does not count as a quiet one.
    splice.idleQuiet = -1;
    this.#watched.add(splice);
    this.#cancel ??= this.schedule(this.#tick, this.tickMs);
  }

  delete(splice: IdleWatched): void {
    this.#watched.delete(splice);
    if (this.#watched.size === 0 && this.#cancel !== null) {
      this.#cancel();
      this.#cancel = null;
    }
  }

  /** One tick: traffic since the last one resets a splice; ticksPerTimeout quiet ticks end it. */
  readonly #tick = (): void => {
    this.#cancel = null;
    for (const splice of this.#watched) {
      const moved = splice.bytesFromClient + splice.bytesToClient;
      if (moved !== splice.idleLast) {
        splice.idleLast = moved;
        splice.idleQuiet = 0;
      } else if (++splice.idleQuiet >= ticksPerTimeout) {
        this.#watched.delete(splice); // end() settles it later, once both sides closed
        splice.end("idle");
      }
    }
    if (this.#watched.size > 0) this.#cancel = this.schedule(this.#tick, this.tickMs);
  };
}

const sweeps = new Map<number, IdleSweep>();

/** The process-wide sweep for one timeout value (connections normally share one). */
export function idleSweep(idleTimeoutMs: number): IdleSweep {
  let sweep = sweeps.get(idleTimeoutMs);
  if (sweep === undefined) sweeps.set(idleTimeoutMs, (sweep = new IdleSweep(idleTimeoutMs)));
  return sweep;
}

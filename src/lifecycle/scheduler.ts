// The one owner of the proxy's timers: every periodic job (route reload, affinity GC, circuit advance,
// config and TLS file polls, live state, heartbeat sweeps, health rounds, pool sweeps) is a task here.
// Time comes from an injected Clock: the runtime's timers in production, a fake clock in tests that
// advances time and runs the due ticks, so no test sleeps to see a periodic job.
import type { Clock } from "../runtime/types.ts";
import type { Logger } from "./log.ts";

export interface Periodic {
  /** No further runs; resolves once a run under way finished. */
  cancel(): Promise<void>;
}

export class Scheduler {
  readonly #tasks = new Set<Task>();

  readonly clock: Clock;
  readonly log: Logger;
  constructor(clock: Clock, log: Logger) {
    this.clock = clock;
    this.log = log;
  }

  /** Runs `tick` every `periodMs()` (read again after each run), first one period from now. An async
   *  tick is awaited before the next run is timed; a failing tick is logged and the task goes on. */
  every(name: string, periodMs: () => number, tick: (nowMs: number) => void | Promise<unknown>): Periodic {
    const task = new Task(name, periodMs, tick, this.clock, this.log, () => this.#tasks.delete(task));
    this.#tasks.add(task);
    task.schedule();
    return task;
  }

  /** Tasks not cancelled yet. */
  get size(): number {
    return this.#tasks.size;
  }

  /** Cancels every task. */
  async stop(): Promise<void> {
    await Promise.all([...this.#tasks].map((t) => t.cancel()));
  }
}

class Task implements Periodic {
  #cancelTimer: (() => void) | null = null;
  #running: Promise<void> | null = null;
  #cancelled = false;

  readonly name: string;
  readonly periodMs: () => number;
  readonly tick: (nowMs: number) => void | Promise<unknown>;
  readonly clock: Clock;
  readonly log: Logger;
  readonly onCancel: () => void;
  constructor(name: string, periodMs: () => number, tick: (nowMs: number) => void | Promise<unknown>, clock: Clock, log: Logger, onCancel: () => void) {
    this.name = name;
    this.periodMs = periodMs;
    this.tick = tick;
    this.clock = clock;
    this.log = log;
    this.onCancel = onCancel;
  }

  schedule(): void {
    if (this.#cancelled) return;
    this.#cancelTimer = this.clock.after(Math.max(1, this.periodMs()), () => this.#run());
  }

  #run(): void {
    this.#cancelTimer = null;
    if (this.#cancelled) return;
    let result;
    try {
      result = this.tick(this.clock.now());
    } catch (err) {
      this.#failed(err);
    }
    if (result === undefined || typeof (result as Promise<void>).then !== "function") return this.schedule();
    this.#running = Promise.resolve(result).then(() => {}).catch((err) => this.#failed(err)).finally(() => {
      this.#running = null;
      this.schedule();
    });
  }

  #failed(err: unknown): void {
    this.log.error("periodic task failed", { task: this.name, error: (err as Error)?.message ?? String(err) });
  }

  async cancel(): Promise<void> {
    this.#cancelled = true;
    this.#cancelTimer?.();
    this.#cancelTimer = null;
    this.onCancel();
    await this.#running;
  }
}

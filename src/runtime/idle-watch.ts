// Idle timeout without touching a timer per chunk: a coarse tick compares the byte total.
import type { SpliceTally } from "./splice-tally.ts";

const ticksPerTimeout = 4;

/**
 * Ends the splice with reason "idle" once no byte moved through `tally` for idleTimeoutMs, at most
 * 25 % late. A class with one shared tick function: no closures per connection.
 */
export class IdleWatch {
  private readonly tickMs: number;
  private last: number;
  private quietTicks = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  private readonly tally: SpliceTally;
  constructor(
    idleTimeoutMs: number,
    tally: SpliceTally,
  ) {
    this.tally = tally;
    this.tickMs = Math.max(1, Math.ceil(idleTimeoutMs / ticksPerTimeout));
    this.last = this.moved();
    this.timer = setTimeout(tick, this.tickMs, this);
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** One tick: reset on traffic, fire after ticksPerTimeout quiet ticks in a row. */
  check(): void {
    const now = this.moved();
    if (now !== this.last) {
      this.last = now;
      this.quietTicks = 0;
    } else if (++this.quietTicks >= ticksPerTimeout) {
      this.timer = undefined;
      this.tally.end("idle");
      return;
    }
    this.timer = setTimeout(tick, this.tickMs, this);
  }

  private moved(): number {
    return this.tally.bytesFromClient + this.tally.bytesToClient;
  }
}

function tick(watch: IdleWatch): void {
  watch.check();
}

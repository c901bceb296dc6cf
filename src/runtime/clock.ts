// The production Clock: wall-clock time and the runtime's own timers (the same global on Node, Bun and
// Deno). Everything periodic reaches setTimeout only through here (lifecycle/scheduler.ts).
import type { Clock } from "./types.ts";

export const systemClock: Clock = {
  now: () => Date.now(),
  after(delayMs, fire) {
    const timer = setTimeout(fire, delayMs);
    return () => clearTimeout(timer);
  },
};

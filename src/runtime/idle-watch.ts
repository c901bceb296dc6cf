// Idle timeout without touching a timer per chunk: a coarse tick compares the byte total.

const ticksPerTimeout = 4;

/**
 * Calls onIdle once no byte moved (per `moved()`) for idleTimeoutMs, at most 25 % late.
 * Returns a stop function. idleTimeoutMs <= 0 disables the watch.
 */
export function watchIdle(idleTimeoutMs: number, moved: () => number, onIdle: () => void): () => void {
  if (!(idleTimeoutMs > 0)) return () => {};
  const tickMs = Math.max(1, Math.ceil(idleTimeoutMs / ticksPerTimeout));
  let last = moved();
  let quietTicks = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const tick = (): void => {
    const now = moved();
    if (now !== last) {
      last = now;
      quietTicks = 0;
    } else if (++quietTicks >= ticksPerTimeout) {
      timer = undefined;
      onIdle();
      return;
    }
    timer = setTimeout(tick, tickMs);
  };
  timer = setTimeout(tick, tickMs);
  return () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
  };
}

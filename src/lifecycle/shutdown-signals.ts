// What a SIGTERM/SIGINT means: the first starts the graceful shutdown, a later one forces the exit.
// A signal within DUPLICATE_WINDOW_MS of the first is the same request delivered twice: a task runner
// that forwards the terminal's Ctrl-C (`deno task start`) makes the proxy, in the same process group,
// receive the one SIGINT from the terminal and again from the runner, in the same millisecond.

export const DUPLICATE_WINDOW_MS = 200;

export type SignalMeaning = "shutdown" | "duplicate" | "force";

export class ShutdownSignals {
  #firstAtMs: number | null = null;

  receive(nowMs: number): SignalMeaning {
    if (this.#firstAtMs === null) {
      this.#firstAtMs = nowMs;
      return "shutdown";
    }
    return nowMs - this.#firstAtMs < DUPLICATE_WINDOW_MS ? "duplicate" : "force";
  }
}

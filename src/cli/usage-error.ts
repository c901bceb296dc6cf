// A bad command-line argument: the CLI prints `error: <message>` (one line naming it) and exits 2
// before anything is written.
export class UsageError extends Error {
  readonly argument: string;
  constructor(argument: string, message: string) {
    super(message);
    this.argument = argument;
    this.name = "UsageError";
  }
}

/** Exit codes: 0 done, 1 the store failed (unreadable, locked too long) or `health` got no answer,
 *  2 bad arguments or unknown id. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

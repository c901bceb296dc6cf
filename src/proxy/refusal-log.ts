// Log lines for clients the proxy closes without serving them (no backend could take it, a refused
// PROXY header): visible at the default level, at most one line per reason per second, each carrying
// `suppressed`, the count of the same reason not logged since the previous line.
import type { Logger } from "../core/logger.ts";
import { LogRateLimit } from "../core/log-rate-limit.ts";

export class RefusalLog {
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #limit: LogRateLimit;

  constructor(log: Logger, now: () => number, intervalMs = 1000) {
    this.#log = log;
    this.#now = now;
    this.#limit = new LogRateLimit(intervalMs);
  }

  /** `reason` keys the rate limit (one line per reason per interval). */
  report(level: "warn" | "info", reason: string, msg: string, fields: Record<string, unknown>): void {
    const suppressed = this.#limit.admit(reason, this.#now());
    if (suppressed === null) return;
    this.#log[level](msg, { ...fields, suppressed });
  }
}

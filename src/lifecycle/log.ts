// Structured logs: one JSON object per line on stderr. Only I/O layers log; core reports values.
import type { Logger } from "../core/logger.ts";

// The port lives in core/ so proxy/ and api/ take a Logger without importing this feature folder.
export type { Logger } from "../core/logger.ts";
export { silentLogger } from "../core/logger.ts";

export type LogLevel = "debug" | "info" | "warn" | "error";
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function createLogger(level: LogLevel, write: (line: string) => void = (l) => console.error(l)): Logger {
  const min = RANK[level];
  const emit = (lvl: LogLevel) => (msg: string, fields?: Record<string, unknown>) => {
    if (RANK[lvl] < min) return;
    write(JSON.stringify({ ts: new Date().toISOString(), level: lvl, msg, ...fields }));
  };
  return { debug: emit("debug"), info: emit("info"), warn: emit("warn"), error: emit("error") };
}

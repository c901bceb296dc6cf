// Process environment and exit, the same on Node, Bun and Deno (all three provide node:process).
import process from "node:process";
import os from "node:os";

/** A copy of the environment as a plain record. */
export function readEnv(): Record<string, string | undefined> {
  return { ...process.env };
}

export function exit(code: number): never {
  process.exit(code);
}

/** This machine's host name (the default POP id). */
export function hostName(): string {
  return os.hostname();
}

// Process environment and exit, the same on Node, Bun and Deno (all three provide node:process).
import process from "node:process";

/** A copy of the environment as a plain record. */
export function readEnv(): Record<string, string | undefined> {
  return { ...process.env };
}

export function exit(code: number): never {
  process.exit(code);
}

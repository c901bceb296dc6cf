// What a command-line entry point needs from its process: its arguments and a way to set the exit code
// without cutting off output still being written (node:process works the same on Node, Bun and Deno).
import process from "node:process";

/** Arguments after the runtime and the script (what the user typed). */
export function commandArgs(): string[] {
  return process.argv.slice(2);
}

/** The code the process exits with once it has nothing left to do. */
export function setExitCode(code: number): void {
  process.exitCode = code;
}

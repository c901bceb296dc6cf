// Runs the `edgeproxy` CLI as a subprocess on the runtime running the tests.
import { spawn } from "node:child_process";
import process from "node:process";
import { repoRoot, runtimeCommand } from "../fixtures/runtime.ts";

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function runCli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const [cmd, ...argv] = runtimeCommand("src/cli/main.ts", ...args);
  const child = spawn(cmd!, argv, { cwd: repoRoot, env: { ...process.env, NO_COLOR: "1", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "", stderr = "";
  child.stdout!.on("data", (d: Buffer) => { stdout += d.toString("utf8"); });
  child.stderr!.on("data", (d: Buffer) => { stderr += d.toString("utf8"); });
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("close", (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

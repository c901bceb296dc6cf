// Where the Deno binary for tests and benchmarks comes from. Not a package.json dependency on
// purpose: `deno task` runs every file in node_modules/.bin as a JavaScript module, so an npm-installed
// `deno` binary there breaks every task. It is installed into .tools/ instead, once, from npm.
import { existsSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";

export const DENO_VERSION = "2.9.6";
const root = new URL("..", import.meta.url).pathname;
const toolsDir = join(root, ".tools");
const toolsBin = join(toolsDir, "node_modules", ".bin", "deno");

/** Path to a deno executable: $DENO_BIN, or .tools/ (installed from npm on first use). */
export function denoBin() {
  if (process.env.DENO_BIN) return process.env.DENO_BIN;
  if (!existsSync(toolsBin)) {
    // stderr only: `npm run start:deno` reads the path this script prints on stdout
    console.error(`installing deno@${DENO_VERSION} into .tools/ (first run)`);
    const npm = process.platform === "win32" ? "npm.cmd" : "npm";
    const res = spawnSync(npm, ["install", "--prefix", toolsDir, "--no-save", "--no-audit", "--no-fund", `deno@${DENO_VERSION}`], { stdio: ["inherit", 2, "inherit"] });
    if (res.status !== 0 || !existsSync(toolsBin)) throw new Error(`could not install deno@${DENO_VERSION} into .tools/ (set DENO_BIN to a deno executable instead)`);
  }
  return toolsBin;
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(denoBin());

#!/usr/bin/env node
// npm run bench:core → bench/core.bench.ts on Node, Bun and Deno; npm run bench → bench/proxy.bench.mjs.
import { spawnSync } from "node:child_process";
import { denoBin } from "./deno-bin.mjs";
import { join } from "node:path";
const root = new URL("..", import.meta.url).pathname;
const which = process.argv[2];
const run = (cmd, args) => spawnSync(cmd, args, { cwd: root, stdio: "inherit" }).status ?? 1;
if (which === "core") {
  let failed = 0;
  for (const [name, cmd, args] of [
    ["node", process.execPath, ["--import", "tsx", "bench/core.bench.ts"]],
    ["bun", join(root, "node_modules/.bin/bun"), ["run", "bench/core.bench.ts"]],
    ["deno", denoBin(), ["run", "-A", "bench/core.bench.ts"]],
  ]) {
    console.log(`\n===== ${name} =====`);
    failed += run(cmd, args) === 0 ? 0 : 1;
  }
  process.exit(failed ? 1 : 0);
} else {
  process.exit(run(process.execPath, ["bench/proxy.bench.mjs"]));
}

#!/usr/bin/env node
// npm run bench:core → bench/core.bench.ts on Node, Bun and Deno; npm run bench → bench/proxy.bench.mjs,
// then the connection pool's gain against a far-away backend (bench/pool.bench.mjs; BENCH_POOL=0 skips it).
import { spawnSync } from "node:child_process";
import { denoBin } from "./deno-bin.mjs";
import { nodeBin } from "./node-bin.mjs";
import { join } from "node:path";
const root = new URL("..", import.meta.url).pathname;
const which = process.argv[2];
const run = (cmd, args) => spawnSync(cmd, args, { cwd: root, stdio: "inherit" }).status ?? 1;
if (which === "core") {
  let failed = 0;
  for (const [name, cmd, args] of [
    ["node", nodeBin(), ["bench/core.bench.ts"]],
    ["bun", join(root, "node_modules/.bin/bun"), ["run", "bench/core.bench.ts"]],
    ["deno", denoBin(), ["run", "-A", "bench/core.bench.ts"]],
  ]) {
    console.log(`\n===== ${name} =====`);
    failed += run(cmd, args) === 0 ? 0 : 1;
  }
  process.exit(failed ? 1 : 0);
} else {
  const proxy = run(process.execPath, ["bench/proxy.bench.mjs"]);
  const pool = process.env.BENCH_POOL === "0" ? 0 : run(process.execPath, ["bench/pool.bench.mjs"]);
  // EDGEPROXY_WORKERS=1 vs 2 (bench/workers.bench.mjs; BENCH_WORKERS=0 skips it).
  const workers = process.env.BENCH_WORKERS === "0" ? 0 : run(process.execPath, ["bench/workers.bench.mjs"]);
  process.exit(proxy || pool || workers);
}

#!/usr/bin/env node
// Runs the whole test suite on Node, Bun and Deno (or the runtimes named as arguments), one after
// the other, and fails when any runtime fails. Prints one closing line: "tests: N passed, N failed".
import { spawnSync } from "node:child_process";
import { denoBin } from "./deno-bin.mjs";
import { nodeBin } from "./node-bin.mjs";
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const bin = (name) => join(root, "node_modules", ".bin", name);

function findTests(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...findTests(path));
    else if (name.endsWith(".test.ts")) out.push(relative(root, path));
  }
  return out.sort();
}

const filter = process.env.TEST_FILTER; // substring of test file paths, for local runs
const files = findTests(join(root, "test")).filter((f) => !filter || f.includes(filter));

// Each runner's own summary format, read back so the closing line adds up all three.
const runners = {
  node: {
    cmd: nodeBin, // Node 24 from node_modules (see node-bin.mjs), whichever Node runs this script
    args: ["--test", "--test-concurrency=1", "--test-reporter=spec", ...files],
    count: (out) => ({ pass: last(out, /^ℹ pass (\d+)/m), fail: last(out, /^ℹ fail (\d+)/m) }),
  },
  bun: {
    cmd: bin("bun"),
    args: ["test", "--timeout=120000", ...files.map((f) => "./" + f)],
    count: (out) => ({ pass: last(out, /^\s*(\d+) pass$/m), fail: last(out, /^\s*(\d+) fail$/m) }),
  },
  deno: {
    cmd: denoBin, // a function: installs Deno only when the Deno run is asked for
    args: ["test", "-A", "--no-check", ...files],
    count: (out) => {
      const m = /(?:ok|FAILED) \| (\d+) passed(?: \((\d+) steps?\))? \| (\d+) failed(?: \((\d+) steps?\))?/.exec(out.replace(/\x1b\[[0-9;]*m/g, ""));
      return m ? { pass: +m[1] + +(m[2] ?? 0), fail: +m[3] + +(m[4] ?? 0) } : { pass: 0, fail: 0 };
    },
  },
};

function last(text, re) {
  const all = [...text.matchAll(new RegExp(re.source, "gm"))];
  return all.length ? Number(all[all.length - 1][1]) : 0;
}

const wanted = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(runners);
// Resolved once up front, so every runtime's tests can start Deno (e.g. to check `deno task`).
if (wanted.includes("deno")) process.env.DENO_BIN = denoBin();
let passed = 0, failed = 0, broken = [];
for (const name of wanted) {
  const r = runners[name];
  if (!r) { console.error(`unknown runtime ${name} (node, bun, deno)`); process.exit(2); }
  console.log(`\n===== ${name}: ${files.length} test files =====`);
  const started = Date.now();
  const res = spawnSync(typeof r.cmd === "function" ? r.cmd() : r.cmd, r.args, { cwd: root, encoding: "utf8", maxBuffer: 256 << 20, env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" } });
  const out = (res.stdout ?? "") + (res.stderr ?? "");
  process.stdout.write(out);
  const { pass, fail } = r.count(out);
  passed += pass; failed += fail;
  const ok = res.status === 0;
  if (!ok) { broken.push(name); if (fail === 0) failed += 1; }
  console.log(`===== ${name}: ${ok ? "ok" : `FAILED (exit ${res.status ?? res.signal}${res.error ? " " + res.error.message : ""})`} — ${pass} passed, ${fail} failed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
if (broken.length) console.log(`failing runtimes: ${broken.join(", ")}`);
console.log(`tests: ${passed} passed, ${failed} failed`);
process.exit(broken.length ? 1 : 0);

#!/usr/bin/env node
// Architecture boundaries (DESIGN.md "Layout"), checked on every `npm test`:
//   - runtime globals (Bun.*, Deno.*, process.*, node:* imports, require) only in src/runtime/
//   - WebAssembly only in src/engine/
//   - src/core/ imports nothing outside itself and reads no clock, timer or randomness
//   - src/engine/ imports only src/core/ and itself; src/proxy/ imports src/runtime/ for types only
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, dirname, resolve, sep } from "node:path";

const root = resolve(new URL("..", import.meta.url).pathname);

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith(".ts")) out.push(p);
  }
  return out;
}

/** Strip comments and string contents so words inside them do not count. */
function code(text) {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/(^|[^:\\])\/\/.*$/gm, "$1");
}

const IMPORT_RE = /(?:import|export)\s+(type\s+)?(?:[^'"]*?\s+from\s+)?["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

export function checkBoundaries(srcDir = join(root, "src")) {
  const problems = [];
  for (const file of walk(srcDir)) {
    const rel = relative(srcDir, file).split(sep).join("/");
    const layer = rel.split("/")[0];
    if (rel.endsWith(".generated.ts")) continue;
    const text = code(readFileSync(file, "utf8"));
    const say = (what) => problems.push(`src/${rel}: ${what}`);
    if (layer !== "runtime") {
      if (/\bBun\s*\.|\bDeno\s*\.|\bprocess\s*\.|\brequire\s*\(/.test(text)) say("uses a runtime global (Bun, Deno, process, require): only src/runtime/ may");
    }
    if (layer !== "engine" && /\bWebAssembly\b/.test(text)) say("uses WebAssembly: only src/engine/ may");
    if (layer === "core" && /\bDate\.now\b|\bnew Date\(\)|\bperformance\.now\b|\bsetTimeout\b|\bsetInterval\b|\bMath\.random\b/.test(text)) {
      say("reads a clock, timer or randomness: src/core/ is pure (take nowMs / a seed as an argument)");
    }
    for (const m of text.matchAll(IMPORT_RE)) {
      const typeOnly = Boolean(m[1]);
      const spec = m[2] ?? m[3];
      if (spec.startsWith("node:") || spec === "bun" || spec.startsWith("bun:")) {
        if (layer !== "runtime" && !typeOnly) say(`imports ${spec}: only src/runtime/ may`);
        continue;
      }
      if (!spec.startsWith(".")) {
        if (layer === "core") say(`imports package ${spec}: src/core/ imports nothing outside itself`);
        continue;
      }
      const target = relative(srcDir, resolve(dirname(file), spec)).split(sep).join("/");
      const targetLayer = target.split("/")[0];
      if (targetLayer === layer || targetLayer.startsWith("..")) continue;
      if (layer === "core") say(`imports ${spec}: src/core/ imports nothing outside itself`);
      if (layer === "engine" && targetLayer !== "core") say(`imports ${spec}: src/engine/ may import only src/core/`);
      if (["core", "engine", "proxy", "geo"].includes(layer) && targetLayer === "runtime" && !(typeOnly && target === "runtime/types.ts")) {
        say(`imports ${spec}: ${layer}/ may use src/runtime/ only through \`import type\` from runtime/types.ts`);
      }
    }
  }
  return problems;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const problems = checkBoundaries();
  for (const p of problems) console.error(p);
  console.log(problems.length ? `${problems.length} boundary violation(s)` : "boundaries ok");
  process.exit(problems.length ? 1 : 0);
}

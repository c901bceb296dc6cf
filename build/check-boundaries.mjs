#!/usr/bin/env node
// Architecture boundaries (DESIGN.md "Layout"), checked on every `npm test`. The dependency direction is
//   runtime/, store/, api/, cli/  →  proxy/  →  core/        engine/ → core/        geo/ → core/
// and the feature folders (lifecycle/, routes/, metrics/, health/, pool/, settings/, tls/, …) and the
// root files (main.ts, edge-proxy.ts, config.ts) compose the layers; no layer imports them back.
// Rules:
//   - runtime globals (Bun.*, Deno.*, process.*, node:* imports, require) only in src/runtime/
//   - WebAssembly only in src/engine/
//   - src/core/ imports nothing outside itself and reads no clock, timer or randomness
//   - each layer imports only the layers it points to (LAYER_IMPORTS), never a feature folder;
//     api/ and cli/ may read config.ts; cli/ starts main.ts (`edgeproxy serve`)
//   - core/, engine/, proxy/, geo/ use src/runtime/ only through `import type` from runtime/types.ts
//   - api/ does not pick a store technology: from store/ it imports no libSQL/PostgreSQL file
//   - erasable TypeScript only (Node strips types, it does not transform them): no parameter
//     properties (`constructor(readonly x: T)`), enums or namespaces
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, dirname, resolve, sep } from "node:path";

const root = resolve(new URL("..", import.meta.url).pathname);

/** Layer → the other top-level folders of src/ it may import (itself always). */
export const LAYER_IMPORTS = {
  core: [],
  engine: ["core"],
  geo: ["core", "runtime"],
  proxy: ["core", "runtime"],
  runtime: ["core", "proxy"],
  store: ["core", "proxy", "runtime"],
  api: ["core", "proxy", "runtime", "store", "config.ts"],
  // main.ts: `edgeproxy serve` runs the proxy's own entry point.
  cli: ["core", "proxy", "runtime", "store", "api", "replication", "config.ts", "main.ts"], // `cluster status` reads the POPs' presence from NATS
};

/** store/ files that belong to one technology (libSQL or PostgreSQL); api/ imports none of them. */
const STORE_TECHNOLOGY = /^store\/(?:libsql-|pg-|lazy-pg-|sql-connection|migrations|change-triggers|live-table)/;

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith(".ts")) out.push(p);
  }
  return out;
}

/** Strip comments so words inside them do not count. */
function code(text) {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/(^|[^:\\])\/\/.*$/gm, "$1");
}

/** Parameter properties, enums and namespaces: TypeScript that Node's type stripping refuses. */
export function nonErasable(text) {
  const found = [];
  if (/^\s*(?:export\s+)?(?:declare\s+)?(?:const\s+)?enum\s+\w/m.test(text)) found.push("an enum (use an `as const` object)");
  if (/^\s*(?:export\s+)?(?:namespace|module)\s+\w+\s*\{/m.test(text)) found.push("a namespace");
  for (const m of text.matchAll(/\bconstructor\s*\(/g)) {
    let depth = 1, i = m.index + m[0].length;
    for (; i < text.length && depth > 0; i++) depth += text[i] === "(" ? 1 : text[i] === ")" ? -1 : 0;
    const params = text.slice(m.index + m[0].length, i - 1);
    if (/(?:^|[,(])\s*(?:public|private|protected|readonly|override)\s+[\w$]/.test(params)) {
      found.push("a parameter property (declare the field and assign it in the constructor)");
      break;
    }
  }
  return found;
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
    for (const what of nonErasable(text)) say(`uses ${what}: Node runs the sources by stripping types, which refuses it`);
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
      const allowed = LAYER_IMPORTS[layer];
      if (allowed !== undefined && !allowed.includes(targetLayer)) {
        const what = target.includes("/") ? `${targetLayer}/` : targetLayer;
        const may = allowed.length === 0 ? "nothing outside itself" : `only ${allowed.map((a) => (a.endsWith(".ts") ? a : `src/${a}/`)).join(", ")}`;
        say(`imports ${spec}: src/${layer}/ may import ${may}, not ${what}${LAYER_IMPORTS[targetLayer] === undefined ? " (a feature or the composition: it imports the layers, not the other way round)" : ""}`);
        continue;
      }
      if (["core", "engine", "proxy", "geo"].includes(layer) && targetLayer === "runtime" && !(typeOnly && target === "runtime/types.ts")) {
        say(`imports ${spec}: ${layer}/ may use src/runtime/ only through \`import type\` from runtime/types.ts`);
      }
      if (layer === "api" && STORE_TECHNOLOGY.test(target)) {
        say(`imports ${spec}: src/api/ does not pick a store technology (use the RoutingStore port, store/routing-store.ts)`);
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

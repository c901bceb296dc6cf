// The layer check (build/check-boundaries.mjs): src/ passes it, and each rule catches a violation in a
// temporary src tree.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
// @ts-ignore -- plain JS build script
import { checkBoundaries, nonErasable } from "../../build/check-boundaries.mjs";
import { readdirSync, readFileSync, statSync } from "node:fs";

test("src/ respects the layer boundaries", () => {
  assert.deepEqual(checkBoundaries(), []);
});

/** The problems the check finds in a src tree made of `files` (path → text). */
function problemsIn(files: Record<string, string>): string[] {
  const dir = mkdtempSync(join(tmpdir(), "edgeproxy-bounds-"));
  try {
    for (const [rel, text] of Object.entries(files)) {
      mkdirSync(join(dir, rel, ".."), { recursive: true });
      writeFileSync(join(dir, rel), text);
    }
    return checkBoundaries(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const imports = (spec: string) => `import { x } from "${spec}";\n`;

// [rule, file, text, words the problem must contain]
const VIOLATIONS: ReadonlyArray<readonly [string, string, string, string]> = [
  ["core/ imports nothing outside itself", "core/a.ts", imports("../store/x.ts"), "nothing outside itself"],
  ["core/ imports no package", "core/a.ts", imports("zod"), "imports package zod"],
  ["core/ reads no clock", "core/a.ts", "export const t = Date.now();\n", "clock"],
  ["node:* only in runtime/", "proxy/a.ts", `import net from "node:net";\n`, "node:net"],
  ["WebAssembly only in engine/", "proxy/a.ts", "const m = new WebAssembly.Module(new Uint8Array());\n", "WebAssembly"],
  ["runtime globals only in runtime/", "store/a.ts", `export const v = Deno.env.get("X");\n`, "runtime global"],
  ["engine/ imports only core/", "engine/a.ts", imports("../proxy/y.ts"), "may import only src/core/"],
  ["proxy/ imports no feature folder (metrics/)", "proxy/a.ts", imports("../metrics/metrics.ts"), "not metrics/"],
  ["proxy/ imports no feature folder (lifecycle/)", "proxy/a.ts", `import type { Logger } from "../lifecycle/log.ts";\n`, "not lifecycle/"],
  ["proxy/ imports no adapter above it (store/)", "proxy/a.ts", imports("../store/routing-store.ts"), "not store/"],
  ["proxy/ uses runtime/ only as types", "proxy/a.ts", imports("../runtime/node/transport.ts"), "only through `import type`"],
  ["runtime/ imports no store/", "runtime/a.ts", imports("../store/libsql-store.ts"), "not store/"],
  ["runtime/ imports no feature folder", "runtime/a.ts", imports("../settings/settings.ts"), "not settings/"],
  ["store/ imports no api/", "store/a.ts", imports("../api/create-api.ts"), "not api/"],
  ["store/ imports no feature folder", "store/a.ts", imports("../routes/route-sync.ts"), "not routes/"],
  ["geo/ imports no store/", "geo/a.ts", imports("../store/x.ts"), "not store/"],
  ["api/ picks no store technology (libSQL)", "api/a.ts", imports("../store/libsql-store.ts"), "store technology"],
  ["api/ picks no store technology (PostgreSQL)", "api/a.ts", imports("../store/pg-store.ts"), "store technology"],
  ["api/ imports no feature folder", "api/a.ts", imports("../health/health-checker.ts"), "not health/"],
  ["api/ imports no cli/", "api/a.ts", imports("../cli/program.ts"), "not cli/"],
  ["cli/ imports no feature folder", "cli/a.ts", imports("../metrics/metrics.ts"), "not metrics/"],
  ["cli/ does not compose the proxy", "cli/a.ts", imports("../edge-proxy.ts"), "not edge-proxy.ts"],
  ["no layer imports the composition root", "store/a.ts", imports("../config.ts"), "not config.ts"],
  ["erasable TypeScript: no parameter property", "metrics/a.ts", "export class A {\n  constructor(\n    /** doc */\n    private readonly x: number,\n  ) {}\n}\n", "parameter property"],
  ["erasable TypeScript: no enum", "core/a.ts", "export enum Color { Red, Green }\n", "an enum"],
  ["erasable TypeScript: no namespace", "proxy/a.ts", "export namespace N {\n  export const x = 1;\n}\n", "a namespace"],
];

for (const [rule, file, text, words] of VIOLATIONS) {
  test(`the boundary check catches it: ${rule}`, () => {
    const problems = problemsIn({ [file]: text });
    assert.ok(problems.some((p) => p.startsWith(`src/${file}: `) && p.includes(words)), `expected "${words}" for src/${file}, got:\n${problems.join("\n")}`);
  });
}

test("test/ and bench/ use erasable TypeScript only (Node strips their types too)", () => {
  const root = new URL("../..", import.meta.url).pathname;
  const walk = (dir: string): string[] => readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith(".ts") ? [p] : [];
  });
  const found = [...walk(join(root, "test")), ...walk(join(root, "bench"))].flatMap((f) => (nonErasable(readFileSync(f, "utf8")) as string[]).map((w) => `${f}: ${w}`));
  assert.deepEqual(found, []);
  assert.deepEqual(nonErasable("class A {\n  readonly x: number;\n  constructor(x: number, y = 2) {\n    this.x = x;\n  }\n}\n"), [], "declared fields pass");
});

test("what the direction allows passes", () => {
  const problems = problemsIn({
    "proxy/ok.ts": `import type { Transport } from "../runtime/types.ts";\nimport { y } from "../core/y.ts";\n// Bun.listen in a comment is fine\n`,
    "engine/ok.ts": imports("../core/y.ts"),
    "runtime/ok.ts": `import net from "node:net";\n` + imports("../core/y.ts") + imports("../proxy/y.ts"),
    "store/ok.ts": imports("../core/y.ts") + imports("../runtime/fs.ts"),
    "api/ok.ts": `import type { RoutingStore } from "../store/routing-store.ts";\n` + imports("../store/store-errors.ts") + imports("../config.ts"),
    "cli/ok.ts": imports("../store/libsql-store.ts") + imports("../store/pg-store.ts") + imports("../api/version.ts") + imports("../config.ts"),
    "metrics/ok.ts": imports("../proxy/y.ts") + imports("../store/pg-store.ts") + imports("../api/health-report.ts") + imports("../lifecycle/log.ts"),
    "edge-proxy.ts": imports("./metrics/ok.ts") + imports("./api/start-api.ts"),
  });
  assert.deepEqual(problems, []);
});

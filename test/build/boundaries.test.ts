import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
// @ts-ignore -- plain JS build script
import { checkBoundaries } from "../../build/check-boundaries.mjs";

test("src/ respects the layer boundaries", () => {
  assert.deepEqual(checkBoundaries(), []);
});

test("the boundary check catches each kind of violation", () => {
  const dir = mkdtempSync(join(tmpdir(), "edgeproxy-bounds-"));
  try {
    const put = (rel: string, text: string) => {
      mkdirSync(join(dir, rel, ".."), { recursive: true });
      writeFileSync(join(dir, rel), text);
    };
    put("core/a.ts", `import { x } from "../store/x.ts";\nexport const t = Date.now();\n`);
    put("proxy/b.ts", `import net from "node:net";\nconst m = new WebAssembly.Module(new Uint8Array());\n`);
    put("store/c.ts", `export const v = Deno.env.get("X");\n`);
    put("engine/d.ts", `import { y } from "../proxy/y.ts";\n`);
    put("proxy/ok.ts", `import type { Transport } from "../runtime/types.ts";\n// Bun.listen in a comment is fine\n`);
    const problems: string[] = checkBoundaries(dir);
    const has = (file: string, word: string) => problems.some((p) => p.startsWith(`src/${file}`) && p.includes(word));
    assert.ok(has("core/a.ts", "imports nothing outside"), problems.join("\n"));
    assert.ok(has("core/a.ts", "clock"));
    assert.ok(has("proxy/b.ts", "node:net"));
    assert.ok(has("proxy/b.ts", "WebAssembly"));
    assert.ok(has("store/c.ts", "runtime global"));
    assert.ok(has("engine/d.ts", "only src/core/"));
    assert.ok(!problems.some((p) => p.startsWith("src/proxy/ok.ts")), problems.join("\n"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

#!/usr/bin/env bun
// `npm run build:exe`: the single executable dist/edgeproxy — the CLI (src/cli/main.ts) with the proxy
// (`edgeproxy serve`, or no arguments), the WASM core (already embedded as a generated module) and
// libsql's native addon — made with Bun's compiler (`bun build --compile`). Runs on Bun:
//   bun build/build-exe.mjs [--outfile PATH]
//
// The one thing the bundler cannot see by itself: libsql picks its addon at run time with
// require(`@libsql/${target}`), so a compiled file fails with "Cannot find module
// '@libsql/linux-x64-gnu'". The plugin below rewrites that one line, in libsql's own index.js and only
// in this build, into a require of the addon file resolved now; Bun embeds a statically required
// .node file and loads it from the executable. The source tree stays runtime-neutral: Node, Bun and
// Deno keep loading libsql the ordinary way.
import { dirname, join, resolve } from "node:path";
import { mkdirSync, statSync } from "node:fs";

const root = resolve(dirname(new URL(import.meta.url).pathname), "..");
const argv = process.argv.slice(2);
const at = argv.indexOf("--outfile");
const outfile = resolve(at >= 0 && argv[at + 1] ? argv[at + 1] : join(root, "dist/edgeproxy"));

if (typeof Bun === "undefined") {
  console.error("build-exe: run me with Bun (npm run build:exe, or node_modules/.bin/bun build/build-exe.mjs)");
  process.exit(2);
}

/** The package libsql would pick on this machine (the executable runs where it was built: linux-x64 glibc). */
function libsqlTarget() {
  const glibc = typeof process.report?.getReport === "function" ? Boolean(process.report.getReport().header?.glibcVersionRuntime) : true;
  return `${process.platform}-${process.arch}${process.platform === "linux" ? (glibc ? "-gnu" : "-musl") : ""}`;
}

const libsqlDir = dirname(Bun.resolveSync("libsql", root));
const addon = Bun.resolveSync(`@libsql/${libsqlTarget()}/index.node`, libsqlDir);
const DYNAMIC_REQUIRE = "return require(`@libsql/${target}`);";

const libsqlAddon = {
  name: "libsql-static-addon",
  setup(build) {
    build.onLoad({ filter: /[\\/]node_modules[\\/]libsql[\\/]index\.js$/ }, async (args) => {
      const text = await Bun.file(args.path).text();
      if (!text.includes(DYNAMIC_REQUIRE)) {
        throw new Error(`build-exe: ${args.path} no longer contains ${DYNAMIC_REQUIRE} (libsql changed: update build/build-exe.mjs)`);
      }
      return { contents: text.replace(DYNAMIC_REQUIRE, `return require(${JSON.stringify(addon)});`), loader: "js" };
    });
  },
};

mkdirSync(dirname(outfile), { recursive: true });
const started = performance.now();
const result = await Bun.build({
  // The worker threads' entry (EDGEPROXY_WORKERS > 1) is bundled too: Bun resolves new Worker() of it inside the file.
  entrypoints: [join(root, "src/cli/main.ts"), join(root, "src/workers/worker-entry.ts")],
  compile: { outfile },
  minify: false, // readable stack traces; minifying saves under 1 MB of ~120
  sourcemap: "none",
  plugins: [libsqlAddon],
});
if (!result.success) {
  for (const log of result.logs) console.error(log);
  process.exit(1);
}
const mb = (statSync(outfile).size / 1e6).toFixed(0);
console.log(`build-exe: ${outfile} (${mb} MB, libsql addon ${addon.slice(root.length + 1)}) in ${((performance.now() - started) / 1000).toFixed(1)} s`);

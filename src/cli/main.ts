// `edgeproxy` entry point: `bun run src/cli/main.ts …`, `deno task cli …`, `npx edgeproxy …`.
import { runCli } from "./program.ts";
import { readEnv } from "../runtime/env.ts";
import { modifiedAt } from "../runtime/fs.ts";
import { commandArgs, setExitCode } from "../runtime/command-line.ts";

const code = await runCli(commandArgs(), {
  env: readEnv(),
  out: (text) => console.log(text),
  err: (text) => console.error(text),
  now: Date.now,
  exists: async (path) => (await modifiedAt(path)) !== null,
  serve: async () => {
    await import("../main.ts"); // the proxy's own entry point: reads the environment, runs until a signal
  },
});
setExitCode(code);

// `edgeproxy` entry point: `bun run src/cli/main.ts …`, `deno task cli …`, `npx edgeproxy …`.
import { runCli } from "./program.ts";
import { readEnv } from "../runtime/env.ts";
import { modifiedAt } from "../runtime/fs.ts";
import { commandArgs, setExitCode } from "../runtime/command-line.ts";
import { loadTransport } from "../runtime/index.ts";

const code = await runCli(commandArgs(), {
  env: readEnv(),
  out: (text) => console.log(text),
  err: (text) => console.error(text),
  now: Date.now,
  exists: async (path) => (await modifiedAt(path)) !== null,
  serve: async () => {
    await import("../main.ts"); // the proxy's own entry point: reads the environment, runs until a signal
  },
  reach: {
    fetch: async (url, timeoutMs) => {
      const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
      return { status: response.status, body: await response.text() };
    },
    connect: async (host, port, timeoutMs) => {
      const socket = await (await loadTransport()).connect({ host, port }, timeoutMs);
      socket.close();
    },
  },
});
setExitCode(code);

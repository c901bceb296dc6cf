// `edgeproxy` entry point: `bun run src/cli/main.ts …`, `deno task cli …`, `npx edgeproxy …`.
import { runCli } from "./program.ts";
import { readEnv } from "../runtime/env.ts";
import { modifiedAt } from "../runtime/fs.ts";
import { commandArgs, setExitCode } from "../runtime/command-line.ts";
import { httpGet } from "../runtime/http-status.ts";
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
    // A raw GET (runtime/http-status.ts), not fetch: Bun's and Deno's fetch go through HTTP_PROXY.
    fetch: async (url, timeoutMs) => {
      const { hostname, port, pathname } = new URL(url);
      const host = hostname.startsWith("[") ? hostname.slice(1, -1) : hostname;
      return await httpGet({ host, port: Number(port) || 80 }, pathname, AbortSignal.timeout(timeoutMs), "edgeproxy-health");
    },
    connect: async (host, port, timeoutMs) => {
      const socket = await (await loadTransport()).connect({ host, port }, timeoutMs);
      socket.close();
    },
  },
});
setExitCode(code);

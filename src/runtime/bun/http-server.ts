// Bun: the fetch handler on Bun.serve.
import { assertRuntime } from "../detect.ts";
import type { HostPort } from "../types.ts";
import type { FetchHandler, HttpServer } from "../http-server.ts";

assertRuntime("bun");

interface BunServer {
  readonly port: number;
  readonly hostname: string;
  stop(closeActiveConnections?: boolean): Promise<void> | void;
}

interface BunServe {
  serve(options: {
    hostname: string;
    port: number;
    development: boolean;
    reusePort: boolean;
    fetch: FetchHandler;
    error(error: Error): Response;
  }): BunServer;
}

export function serveHttp(options: HostPort, fetch: FetchHandler): Promise<HttpServer> {
  const { Bun } = globalThis as unknown as { Bun: BunServe };
  let server: BunServer;
  try {
    server = Bun.serve({
      hostname: options.host,
      port: options.port,
      development: false, // no HTML error pages
      reusePort: false, // a second server on a busy port must fail, not silently share it
      fetch,
      error: () => Response.json({ error: "internal error", field: null }, { status: 500 }),
    });
  } catch (err) {
    return Promise.reject(err);
  }
  return Promise.resolve({
    runtime: "bun",
    address: { host: server.hostname, port: server.port },
    close: async () => {
      await server.stop(true);
    },
  });
}

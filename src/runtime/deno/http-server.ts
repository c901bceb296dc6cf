// Deno: the fetch handler on Deno.serve.
import { assertRuntime } from "../detect.ts";
import type { HostPort } from "../types.ts";
import type { FetchHandler, HttpServer } from "../http-server.ts";

assertRuntime("deno");

interface DenoServer {
  readonly addr: { readonly hostname: string; readonly port: number };
  shutdown(): Promise<void>;
  readonly finished: Promise<void>;
}

interface DenoServe {
  serve(
    options: { hostname: string; port: number; onListen(): void; onError(error: unknown): Response },
    handler: FetchHandler,
  ): DenoServer;
}

export function serveHttp(options: HostPort, fetch: FetchHandler): Promise<HttpServer> {
  const { Deno } = globalThis as unknown as { Deno: DenoServe };
  let server: DenoServer;
  try {
    server = Deno.serve(
      {
        hostname: options.host,
        port: options.port,
        onListen: () => {}, // no "Listening on" line: the proxy logs its own
        onError: () => Response.json({ error: "internal error", field: null }, { status: 500 }),
      },
      fetch,
    );
  } catch (err) {
    return Promise.reject(err);
  }
  return Promise.resolve({
    runtime: "deno",
    address: { host: server.addr.hostname, port: server.addr.port },
    close: () => server.shutdown(),
  });
}

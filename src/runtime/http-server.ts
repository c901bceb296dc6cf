// Serves a fetch handler (the API's Hono app) on the runtime's own HTTP server: Bun.serve, Deno.serve,
// or @hono/node-server on Node. Each adapter in {bun,deno,node}/http-server.ts has the same shape.
import { detectRuntime } from "./detect.ts";
import type { HostPort, RuntimeName } from "./types.ts";

export type FetchHandler = (request: Request) => Response | Promise<Response>;

export interface HttpServer {
  readonly runtime: RuntimeName;
  /** The bound address (port resolved when 0 was asked for). */
  readonly address: HostPort;
  /** Stops accepting and closes open connections (idle keep-alive ones included). */
  close(): Promise<void>;
}

/** Dynamically imports only this runtime's server, so other runtimes' globals are never touched. */
export async function serveHttp(options: HostPort, fetch: FetchHandler, runtime: RuntimeName = detectRuntime()): Promise<HttpServer> {
  switch (runtime) {
    case "bun":
      return (await import("./bun/http-server.ts")).serveHttp(options, fetch);
    case "deno":
      return (await import("./deno/http-server.ts")).serveHttp(options, fetch);
    case "node":
      return (await import("./node/http-server.ts")).serveHttp(options, fetch);
  }
}

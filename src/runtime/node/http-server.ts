// Node: the fetch handler on node:http through @hono/node-server.
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { createAdaptorServer } from "@hono/node-server";
import { assertRuntime } from "../detect.ts";
import type { HostPort } from "../types.ts";
import type { FetchHandler, HttpServer } from "../http-server.ts";

assertRuntime("node");

export function serveHttp(options: HostPort, fetch: FetchHandler): Promise<HttpServer> {
  const server = createAdaptorServer({ fetch, hostname: options.host, port: options.port }) as Server;
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: options.host, port: options.port }, () => {
      server.off("error", reject);
      const bound = server.address() as AddressInfo;
      resolve({
        runtime: "node",
        address: { host: bound.address, port: bound.port },
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections(); // idle keep-alive connections would hold close() open
          }),
      });
    });
  });
}

// Binding a node:net or node:tls server, shared by the plain and the TLS listener.
import type net from "node:net";
import { listenFailed } from "../errors.ts";
import type { Listener, ListenOptions } from "../types.ts";

/** Binds a net or tls server; resolves once it accepts. Also used by the TLS listener. */
export function bind(server: net.Server, options: ListenOptions): Promise<Listener> {
  return new Promise((resolve, reject) => {
    const onListenError = (error: unknown) => reject(listenFailed(error, options));
    server.once("error", onListenError);
    server.listen({ host: options.host, port: options.port, backlog: 4096, ...(options.reusePort ? { reusePort: true } : {}) }, () => {
      server.off("error", onListenError);
      // Accept errors (EMFILE, ...) are reported here; without a listener they would crash the process.
      server.on("error", (error) => console.error("[edgeproxy] accept failed:", error));
      const bound = server.address() as net.AddressInfo;
      resolve({
        runtime: "node",
        address: { host: bound.address, port: bound.port },
        close: () => {
          // server.close() stops accepting at once; its callback would wait for every connection.
          if (server.listening) server.close();
          return Promise.resolve();
        },
      });
    });
  });
}


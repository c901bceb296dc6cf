// Deno TLS listener: node:tls terminates (Deno's node:tls closes a connection whose handshake timed
// out; Deno.listenTls cannot, see stream-conn.ts), then each client is an ordinary DenoSide over a
// StreamConn. Certificate reload is setSecureContext: established connections keep theirs.
import tls from "node:tls";
import { credentialsRejected, listenFailed } from "../errors.ts";
import type { ClientSocket, TlsCredentials, TlsListener, TlsListenOptions } from "../types.ts";
import { denoApi } from "./api.ts";
import { DenoSide } from "./side.ts";
import { StreamConn } from "./stream-conn.ts";

const deno = denoApi();

/** Throws ETLSCREDENTIALS when the pair cannot be used. Deno's node:tls accepts any PEM until the
 *  first handshake, so a throwaway Deno.listenTls on a free loopback port does the checking. */
function checkCredentials(credentials: TlsCredentials): void {
  try {
    deno.listenTls({ hostname: "127.0.0.1", port: 0, cert: credentials.cert, key: credentials.key }).close();
  } catch (error) {
    throw credentialsRejected(error);
  }
}

export function listenTls(options: TlsListenOptions, onClient: (client: ClientSocket) => void): Promise<TlsListener> {
  try {
    checkCredentials(options.credentials);
  } catch (error) {
    return Promise.reject(error);
  }
  const server = tls.createServer(
    { cert: options.credentials.cert, key: options.credentials.key, allowHalfOpen: true, handshakeTimeout: options.handshakeTimeoutMs },
    (socket) => {
      try {
        onClient(new DenoSide(new StreamConn(socket), true));
      } catch (error) {
        console.error("[edgeproxy] client handler failed:", error);
      }
    },
  );
  server.on("tlsClientError", (_error, socket) => socket.destroy());
  return new Promise((resolve, reject) => {
    const onListenError = (error: unknown) => reject(listenFailed(error, options));
    server.once("error", onListenError);
    server.listen({ host: options.host, port: options.port, backlog: 4096, ...(options.reusePort ? { reusePort: true } : {}) }, () => {
      server.off("error", onListenError);
      server.on("error", (error) => console.error("[edgeproxy] TLS accept failed:", error));
      const bound = server.address() as { address: string; port: number };
      resolve({
        runtime: "deno",
        address: { host: bound.address, port: bound.port },
        close: () => {
          if (server.listening) server.close();
          return Promise.resolve();
        },
        async setCredentials(credentials) {
          checkCredentials(credentials);
          server.setSecureContext({ cert: credentials.cert, key: credentials.key });
        },
      });
    });
  });
}

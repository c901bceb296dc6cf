// Node TLS listener: node:tls terminates, then the decrypted socket is an ordinary NodeSide.
// Certificate reload is setSecureContext: new handshakes use it, established connections keep theirs.
import tls from "node:tls";
import { credentialsRejected } from "../errors.ts";
import type { ClientSocket, TlsCredentials, TlsListener, TlsListenOptions } from "../types.ts";
import { NodeSide } from "./side.ts";
import { bind } from "./bind.ts";

/** Throws ETLSCREDENTIALS when node:tls cannot use the pair (its own error would be a bare OpenSSL one). */
function checkCredentials(credentials: TlsCredentials): void {
  try {
    tls.createSecureContext({ cert: credentials.cert, key: credentials.key });
  } catch (error) {
    throw credentialsRejected(error);
  }
}

export async function listenTls(options: TlsListenOptions, onClient: (client: ClientSocket) => void): Promise<TlsListener> {
  checkCredentials(options.credentials);
  const server = tls.createServer(
    {
      cert: options.credentials.cert,
      key: options.credentials.key,
      // allowHalfOpen: a client's close_notify + FIN only shuts the upstream's write side.
      allowHalfOpen: true,
      noDelay: true,
      handshakeTimeout: options.handshakeTimeoutMs,
    },
    (socket) => onClient(new NodeSide(socket, true, false)),
  );
  // Failed or timed-out handshake: node:tls only reports it; the connection must be closed here.
  server.on("tlsClientError", (_error, socket) => socket.destroy());
  const listener = await bind(server, options);
  return {
    ...listener,
    async setCredentials(credentials) {
      checkCredentials(credentials);
      server.setSecureContext({ cert: credentials.cert, key: credentials.key });
    },
  };
}

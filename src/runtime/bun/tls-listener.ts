// Bun TLS listener: Bun.listen with tls terminates; a client reaches onClient once its handshake is
// done. Bun cannot swap the certificate of a running listener (reload() only swaps handlers), so
// new credentials rebind the same port: stop(false) keeps every established connection.
import { credentialsRejected, tlsListenFailed } from "../errors.ts";
import type { ClientSocket, TlsCredentials, TlsListener, TlsListenOptions } from "../types.ts";
import { bunApi, type BunListener, type BunSocketHandler } from "./api.ts";
import { BunSide, sideHandlers } from "./side.ts";

const bun = bunApi();

export async function listenTls(options: TlsListenOptions, onClient: (client: ClientSocket) => void): Promise<TlsListener> {
  const handshakes = new Map<BunSide, ReturnType<typeof setTimeout>>();
  const handlers = {
    ...sideHandlers,
    open(socket) {
      const side = new BunSide(true);
      socket.data = side;
      side.attach(socket);
      handshakes.set(side, setTimeout(() => {
        handshakes.delete(side);
        socket.terminate();
      }, options.handshakeTimeoutMs));
    },
    handshake(socket, success) {
      const side = socket.data;
      const timer = handshakes.get(side);
      if (timer === undefined) return; // timed out already
      clearTimeout(timer);
      handshakes.delete(side);
      // Bun reports a failed handshake here too (success false); client certificates are not asked for.
      if (success) onClient(side);
      else socket.terminate();
    },
    close(socket, error) {
      const timer = handshakes.get(socket.data);
      if (timer !== undefined) {
        clearTimeout(timer);
        handshakes.delete(socket.data);
      }
      sideHandlers.close(socket, error);
    },
  } as const satisfies BunSocketHandler<BunSide>;

  const open = (port: number, credentials: TlsCredentials): BunListener =>
    bun.listen<BunSide>({ hostname: options.host, port, ...(options.reusePort ? { reusePort: true } : {}), allowHalfOpen: true, tls: { cert: credentials.cert, key: credentials.key }, socket: handlers });

  let current = options.credentials;
  let listener: BunListener;
  try {
    listener = open(options.port, current);
  } catch (error) {
    throw tlsListenFailed(error, options);
  }
  const address = { host: listener.hostname, port: listener.port };
  let stopped = false;
  return {
    runtime: "bun",
    address,
    close: async () => {
      if (!stopped) listener.stop(false);
      stopped = true;
    },
    async setCredentials(next) {
      // Checked on a throwaway port first, so bad credentials never leave the port unbound.
      try {
        open(0, next).stop(true);
      } catch (error) {
        throw credentialsRejected(error);
      }
      if (stopped) return;
      listener.stop(false);
      try {
        listener = open(address.port, next);
        current = next;
      } catch (error) {
        listener = open(address.port, current); // the port was ours a moment ago; if this throws too, the caller logs it
        throw tlsListenFailed(error, address);
      }
    },
  };
}

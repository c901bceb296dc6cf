// Bun adapter: Bun.listen/Bun.connect (the fastest socket API on Bun) with manual backpressure.
import { assertRuntime } from "../detect.ts";
import { connectFailed, connectTimedOut, errorCode, listenFailed } from "../errors.ts";
import { SpliceTally } from "../splice-tally.ts";
import type {
  ClientSocket,
  HostPort,
  Listener,
  ListenOptions,
  Splice,
  SpliceOptions,
  Transport,
  UpstreamSocket,
} from "../types.ts";
import { bunApi, type BunListener } from "./api.ts";
import { BunSide, sideHandlers } from "./side.ts";
import { listenTls } from "./tls-listener.ts";

assertRuntime("bun");
const bun = bunApi();

export function createTransport(): Transport {
  return { runtime: "bun", listen, listenTls, connect, splice };
}

async function listen(options: ListenOptions, onClient: (client: ClientSocket) => void): Promise<Listener> {
  let listener: BunListener;
  try {
    listener = bun.listen<BunSide>({
      hostname: options.host,
      port: options.port,
      ...(options.reusePort ? { reusePort: true } : {}),
      allowHalfOpen: true, // a client FIN must only shut the upstream's write side
      socket: {
        ...sideHandlers,
        open(socket) {
          const side = new BunSide(true);
          socket.data = side;
          side.attach(socket);
          onClient(side);
        },
      },
    });
  } catch (error) {
    throw listenFailed(error, options);
  }
  let stopped = false;
  return {
    runtime: "bun",
    address: { host: listener.hostname, port: listener.port },
    close: async () => {
      if (!stopped) listener.stop(false); // false: established connections stay
      stopped = true;
    },
  };
}

const connectHandlers = {
  ...sideHandlers,
  open(socket) {
    if (socket.data.cancelled) socket.end();
    else socket.data.attach(socket);
  },
} as const satisfies Parameters<typeof bun.connect<BunSide>>[0]["socket"];

function connect(target: HostPort, timeoutMs: number): Promise<BunSide> {
  return new Promise((resolve, reject) => {
    const side = new BunSide(false);
    // Bun.connect cannot be cancelled: on timeout the socket is closed as soon as it opens.
    const timer = setTimeout(() => {
      side.cancelled = true;
      reject(connectTimedOut(timeoutMs, target));
    }, timeoutMs);
    bun
      .connect<BunSide>({
        hostname: target.host,
        port: target.port,
        allowHalfOpen: true,
        data: side,
        socket: connectHandlers,
      })
      .then(
        (socket) => {
          if (side.cancelled) return socket.end();
          clearTimeout(timer);
          resolve(side);
        },
        (error: unknown) => {
          if (side.cancelled) return;
          clearTimeout(timer);
          reject(connectFailed(errorCode(error), target));
        },
      );
  });
}

function splice(client: ClientSocket, upstream: UpstreamSocket, options: SpliceOptions): Splice {
  const tally = new SpliceTally();
  return tally.watch(BunSide.join(client as BunSide, upstream as BunSide, tally, options.upstreamPrefix), options.idleTimeoutMs);
}

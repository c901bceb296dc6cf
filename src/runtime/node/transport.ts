// Node adapter: node:net sockets, spliced with write()/pause()/drain (lighter than stream.pipe).
import net from "node:net";
import { assertRuntime } from "../detect.ts";
import { connectFailed, connectTimedOut, errorCode, listenFailed } from "../errors.ts";
import { watchIdle } from "../idle-watch.ts";
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
import { NodeSide } from "./side.ts";

assertRuntime("node");

export function createTransport(): Transport {
  return { runtime: "node", listen, connect, splice };
}

function listen(options: ListenOptions, onClient: (client: ClientSocket) => void): Promise<Listener> {
  if (options.tls) return Promise.reject(new Error("[edgeproxy] TLS not implemented yet (listen with tls)"));
  // allowHalfOpen: a client FIN must only shut the upstream's write side, not close the client.
  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    onClient(new NodeSide(socket, true));
  });
  return new Promise((resolve, reject) => {
    const onListenError = (error: unknown) => reject(listenFailed(error, options));
    server.once("error", onListenError);
    server.listen({ host: options.host, port: options.port, backlog: 4096 }, () => {
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

function connect(target: HostPort, timeoutMs: number): Promise<NodeSide> {
  return new Promise((resolve, reject) => new PendingConnect(target, timeoutMs, resolve, reject));
}

/** One connect attempt; a class so the per-connection path allocates no closures but this one. */
class PendingConnect {
  private readonly socket: net.Socket;
  private readonly timer: ReturnType<typeof setTimeout>;

  constructor(
    private readonly target: HostPort,
    private readonly timeoutMs: number,
    private readonly resolve: (side: NodeSide) => void,
    private readonly reject: (error: Error) => void,
  ) {
    const socket = (this.socket = net.connect({ host: target.host, port: target.port, allowHalfOpen: true, noDelay: true }));
    socket.on("connect", this.onConnect);
    socket.on("error", this.onError);
    this.timer = setTimeout(this.onTimeout, timeoutMs);
  }

  private readonly onConnect = (): void => {
    clearTimeout(this.timer);
    this.detach();
    this.resolve(new NodeSide(this.socket, false));
  };

  private readonly onError = (error: unknown): void => {
    clearTimeout(this.timer);
    this.detach();
    this.socket.destroy();
    this.reject(connectFailed(errorCode(error), this.target));
  };

  private readonly onTimeout = (): void => {
    this.detach();
    this.socket.on("error", ignore); // a late error on the destroyed socket must not crash us
    this.socket.destroy();
    this.reject(connectTimedOut(this.timeoutMs, this.target));
  };

  private detach(): void {
    this.socket.off("connect", this.onConnect);
    this.socket.off("error", this.onError);
  }
}

function ignore(): void {}

function splice(client: ClientSocket, upstream: UpstreamSocket, options: SpliceOptions): Splice {
  const tally = new SpliceTally();
  const from = client as NodeSide;
  const to = upstream as NodeSide;
  const stopIdle = watchIdle(
    options.idleTimeoutMs,
    () => tally.bytesFromClient + tally.bytesToClient,
    () => {
      if (tally.fail("idle")) from.pair!.destroyBoth();
    },
  );
  tally.done.then(stopIdle);
  NodeSide.join(from, to, tally);
  return {
    done: tally.done,
    abort: () => {
      if (tally.fail("aborted")) from.pair!.destroyBoth();
    },
  };
}

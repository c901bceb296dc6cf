// Node adapter: node:net sockets, spliced with write()/pause()/drain (lighter than stream.pipe).
import net from "node:net";
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
  return new Promise((resolve, reject) => {
    // Spread form on purpose: with a plain literal ({ host, port, ... }) or positional arguments,
    // every net.Socket construction (accepted ones too) ran ~3x slower on Node 20 (V8 slow paths
    // in Socket/Duplex/ReadableState; measured with --prof). The spread form stays fast.
    const address = { host: target.host, port: target.port };
    const socket = net.connect({ ...address, allowHalfOpen: true, noDelay: true });
    const pending: Pending = { socket, target, timeoutMs, resolve, reject, timer: setTimeout(onTimeout, timeoutMs, socket) };
    (socket as Connecting)[pendingKey] = pending;
    socket.on("connect", onConnect);
    socket.on("error", onConnectError);
  });
}

// One connect attempt. Listeners are shared functions (`this` = the socket), not closures per connect.
interface Pending {
  readonly socket: net.Socket;
  readonly target: HostPort;
  readonly timeoutMs: number;
  readonly resolve: (side: NodeSide) => void;
  readonly reject: (error: Error) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}
const pendingKey = Symbol("edgeproxy.connect");
type Connecting = net.Socket & { [pendingKey]: Pending };

function settleConnect(socket: net.Socket): Pending {
  const pending = (socket as Connecting)[pendingKey];
  clearTimeout(pending.timer);
  socket.off("connect", onConnect);
  socket.off("error", onConnectError);
  return pending;
}

function onConnect(this: net.Socket): void {
  settleConnect(this).resolve(new NodeSide(this, false));
}

function onConnectError(this: net.Socket, error: unknown): void {
  const pending = settleConnect(this);
  this.destroy();
  pending.reject(connectFailed(errorCode(error), pending.target));
}

function onTimeout(socket: net.Socket): void {
  const pending = settleConnect(socket);
  socket.on("error", ignore); // a late error on the destroyed socket must not crash the process
  socket.destroy();
  pending.reject(connectTimedOut(pending.timeoutMs, pending.target));
}

function ignore(): void {}

function splice(client: ClientSocket, upstream: UpstreamSocket, options: SpliceOptions): Splice {
  const tally = new SpliceTally();
  return tally.watch(NodeSide.join(client as NodeSide, upstream as NodeSide, tally), options.idleTimeoutMs);
}

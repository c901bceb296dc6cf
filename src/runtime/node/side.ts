// One end of a proxied connection on Node (client or upstream): early buffering, then forwarding.
import { SplicePair } from "../splice-pair.ts";
import type net from "node:net";
import { limits } from "../limits.ts";
import type { SpliceTally } from "../splice-tally.ts";
import type { ClientSocket, UpstreamSocket } from "../types.ts";

const sideKey = Symbol("edgeproxy.side");
type Tagged = net.Socket & { [sideKey]: NodeSide };

// Shared listeners (one function for all sockets) instead of closures per connection.
function onData(this: Tagged, chunk: Buffer): void {
  this[sideKey].data(chunk);
}
function onDrain(this: Tagged): void {
  this[sideKey].peer?.socket.resume();
}
function onEnd(this: Tagged): void {
  this[sideKey].end();
}
function onError(this: Tagged): void {
  this[sideKey].failed = true;
}
function onClose(this: Tagged): void {
  this[sideKey].gone();
}

const closeSide = (side: NodeSide): void => {
  side.socket.destroy();
};

export class NodeSide implements ClientSocket, UpstreamSocket {
  readonly closed: Promise<void>;
  peer: NodeSide | null = null;
  pair: SplicePair<NodeSide> | null = null;
  failed = false;
  private resolveClosed!: () => void;
  private early: Buffer[] = [];
  private earlyBytes = 0;
  private eof = false;
  private isGone = false;

  constructor(
    readonly socket: net.Socket,
    private readonly isClient: boolean,
  ) {
    if (isClient) void socket.remoteAddress; // getpeername() now, while open; Node caches it
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    (socket as Tagged)[sideKey] = this;
    socket.on("data", onData);
    socket.on("drain", onDrain);
    socket.on("end", onEnd);
    socket.on("error", onError);
    socket.on("close", onClose);
  }

  /** Wires two sides together: early bytes first, then live forwarding both ways. */
  static join(client: NodeSide, upstream: NodeSide, tally: SpliceTally): SplicePair<NodeSide> {
    const pair = new SplicePair(client, upstream, tally, closeSide);
    client.pair = upstream.pair = pair;
    client.peer = upstream;
    upstream.peer = client;
    client.flushEarly();
    upstream.flushEarly();
    // A side that closed before the splice counts as gone now.
    if (client.isGone) pair.sideGone(client);
    if (upstream.isGone) pair.sideGone(upstream);
    return pair;
  }

  // Lazy: each first read is a getpeername() syscall, and upstream sides never need them.
  get remoteAddress(): string {
    return this.socket.remoteAddress ?? "";
  }

  get remotePort(): number {
    return this.socket.remotePort ?? 0;
  }

  data(chunk: Buffer): void {
    const peer = this.peer;
    if (peer === null) {
      this.early.push(chunk);
      this.earlyBytes += chunk.length;
      if (this.earlyBytes >= limits.earlyBytes) this.socket.pause();
      return;
    }
    this.count(chunk.length);
    if (!peer.socket.write(chunk)) this.socket.pause();
  }

  end(): void {
    this.eof = true;
    this.resolveClosed();
    this.peer?.finishWriting();
  }

  /** Our FIN to this side's remote: half-close, or a plain close when it finished sending too. */
  finishWriting(): void {
    const socket = this.socket;
    // Both directions done and nothing queued: close() sends the FIN without a separate shutdown().
    if (this.eof && socket.writableLength === 0) socket.destroy();
    else socket.end();
  }

  gone(): void {
    this.isGone = true;
    this.resolveClosed();
    this.pair?.sideGone(this);
  }

  close(): void {
    this.socket.destroy();
  }

  private count(n: number): void {
    if (this.isClient) this.pair!.tally.bytesFromClient += n;
    else this.pair!.tally.bytesToClient += n;
  }

  private flushEarly(): void {
    const peer = this.peer!;
    let writable = true;
    for (const chunk of this.early) {
      this.count(chunk.length);
      writable = peer.socket.write(chunk);
    }
    this.early = [];
    this.earlyBytes = 0;
    if (this.eof) peer.finishWriting();
    if (writable) this.socket.resume();
    else this.socket.pause();
  }
}

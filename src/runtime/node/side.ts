// One end of a proxied connection on Node (client or upstream): early buffering, then forwarding.
// Reads use `onread` with buffers from our own pool instead of a fresh 64 KiB Buffer per read: the
// default path mallocs every read buffer and frees them only at the next GC, and glibc trimming and
// regrowing the heap under that churn halved bulk throughput (measured: 3.7-4.8 vs 7.6-8.9 Gbit/s).
// An idle socket holds no buffer of its own: after a read that drained it (short) and whose write
// completed, its next read lands in one buffer shared by every such socket (see `landing`).
import { SplicePair } from "../splice-pair.ts";
import type net from "node:net";
import { limits } from "../limits.ts";
import { giveBuffer, largeBuffers, smallBuffers } from "../buffer-pool.ts";
import type { SpliceTally } from "../splice-tally.ts";
import { dropFront, EarlyPeek } from "../early-bytes.ts";
import type { ClientSocket, UpstreamSocket } from "../types.ts";

/**
 * Where an idle socket's next read goes. libuv reads a socket and runs its callback (data()) in one
 * go, so one buffer serves every idle socket; data() copies a landing read out before writing it,
 * because a write the kernel does not take at once keeps pointing at its bytes, and the next idle
 * socket to wake would read over them. Never lent, never pooled.
 */
const landing = new Uint8Array(limits.readBuffer);

/** Shared empty list: `lent` and (after splice) `early` get an array of their own only when used. */
const NONE = Object.freeze([]) as never[]; // frozen: a push by mistake throws instead of sharing bytes

const sideKey = Symbol("edgeproxy.side");
type Tagged = net.Socket & { [sideKey]?: NodeSide };

function onRead(this: Tagged, nread: number, buffer: Uint8Array): boolean {
  return this[sideKey]!.data(buffer, nread);
}

/** An `onread` option for one new socket (set `socket` once it exists): reads go into the pooled
 *  buffers of the side that owns it. Node calls `buffer` without `this`, hence one closure per socket. */
export function pooledReads(): { socket: net.Socket | null; buffer: () => Uint8Array; callback: typeof onRead } {
  const options = {
    socket: null as net.Socket | null,
    buffer: () => (options.socket as Tagged | null)?.[sideKey]?.readBuffer() ?? landing,
    callback: onRead,
  };
  return options;
}

// Shared listeners (one function for all sockets) instead of closures per connection.
/** Sockets without `onread` (TLS): one Buffer per read. */
function onData(this: Tagged, chunk: Buffer): void {
  this[sideKey]!.chunk(chunk);
}
function onDrain(this: Tagged): void {
  const side = this[sideKey]!;
  side.returnLent();
  side.peer?.socket.resume();
}
function onEnd(this: Tagged): void {
  this[sideKey]!.end();
}
function onError(this: Tagged): void {
  this[sideKey]!.failed = true;
}
function onClose(this: Tagged): void {
  this[sideKey]!.gone();
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
  /** The pooled buffer the next read goes into; null: the shared landing buffer (idle, or not reading yet). */
  private buffer: Uint8Array | null;
  /** Buffers holding chunks queued for writing to this socket: back to the pool once it drains. */
  private lent: Uint8Array[] = NONE;
  private eof = false;
  private isGone = false;
  /** Only for a client whose first bytes are read before splice (PROXY header). */
  private peek: EarlyPeek | null = null;

  readonly socket: net.Socket;
  private readonly isClient: boolean;
  constructor(
    socket: net.Socket,
    isClient: boolean,
    /** Created with `readOptions` as its onread; otherwise its reads arrive as 'data' events. */
    userBuffers = true,
  ) {
    this.socket = socket;
    this.isClient = isClient;
    if (isClient) void socket.remoteAddress; // getpeername() now, while open; Node caches it
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    this.buffer = null;
    (socket as Tagged)[sideKey] = this;
    if (!userBuffers) socket.on("data", onData);
    socket.on("drain", onDrain);
    socket.on("end", onEnd);
    socket.on("error", onError);
    socket.on("close", onClose);
  }

  /** Wires two sides together: early bytes first, then live forwarding both ways. */
  static join(client: NodeSide, upstream: NodeSide, tally: SpliceTally, upstreamPrefix?: Uint8Array): SplicePair<NodeSide> {
    const pair = new SplicePair(client, upstream, tally, closeSide);
    client.pair = upstream.pair = pair;
    client.peer = upstream;
    upstream.peer = client;
    if (upstreamPrefix !== undefined) upstream.socket.write(upstreamPrefix);
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

  get localAddress(): string {
    return this.socket.localAddress ?? "";
  }

  get localPort(): number {
    return this.socket.localPort ?? 0;
  }

  peekEarly(minBytes: number): Promise<Uint8Array> {
    const peek = (this.peek ??= new EarlyPeek());
    const bytes = peek.wait(minBytes, this.early, this.earlyBytes, this.earlyDone());
    if (!this.earlyDone()) this.socket.resume(); // accepted paused (pauseOnConnect): read from now on
    return bytes;
  }

  skipEarly(n: number): void {
    this.earlyBytes -= dropFront(this.early, n);
  }

  private earlyDone(): boolean {
    return this.eof || this.isGone || this.earlyBytes >= limits.earlyBytes;
  }

  /** One read into `buffer`; false pauses reading (onread semantics). */
  data(buffer: Uint8Array, n: number): boolean {
    const peer = this.peer;
    const full = n === buffer.length;
    if (peer === null) {
      this.early.push(Buffer.from(buffer.subarray(0, n))); // a copy: the buffer is read into again
      this.earlyBytes += n;
      this.peek?.wake(this.early, this.earlyBytes, this.earlyDone());
      if (!full) this.dropBuffer(); // waiting for splice(): hold no buffer meanwhile
      return this.earlyBytes < limits.earlyBytes;
    }
    this.count(n);
    const out = peer.socket;
    let chunk = buffer;
    if (buffer === landing) {
      chunk = (n > smallBuffers.size ? largeBuffers : smallBuffers).take();
      chunk.set(full ? buffer : buffer.subarray(0, n));
    }
    const writable = out.write(n === chunk.length ? chunk : chunk.subarray(0, n));
    const queued = out.writableLength !== 0;
    // A queued write still points into `chunk`: lend it to the peer until it drains.
    if (queued) {
      if (peer.lent === NONE) peer.lent = [chunk];
      else peer.lent.push(chunk);
    } else if (chunk !== buffer) giveBuffer(chunk);
    if (full || queued) {
      // More is waiting (a full read means bulk data), or the peer is slow: read into a large buffer of our own.
      if (buffer === landing || queued || buffer.length !== largeBuffers.size) {
        if (!queued && buffer !== landing) giveBuffer(buffer);
        this.buffer = largeBuffers.take();
      }
    } else if (buffer !== landing) {
      // A short read drained the socket and its bytes are written: it may now sit idle, bufferless.
      giveBuffer(buffer);
      this.buffer = null;
    }
    return writable;
  }

  /** One read as a Buffer of its own ('data' event). */
  chunk(chunk: Buffer): void {
    const peer = this.peer;
    if (peer === null) {
      this.early.push(chunk);
      this.earlyBytes += chunk.length;
      this.peek?.wake(this.early, this.earlyBytes, this.earlyDone());
      if (this.earlyBytes >= limits.earlyBytes) this.socket.pause();
      return;
    }
    this.count(chunk.length);
    if (!peer.socket.write(chunk)) this.socket.pause();
  }

  readBuffer(): Uint8Array {
    return this.buffer ?? landing;
  }

  private dropBuffer(): void {
    if (this.buffer !== null) giveBuffer(this.buffer);
    this.buffer = null;
  }

  returnLent(): void {
    if (this.lent === NONE) return;
    for (const buffer of this.lent) giveBuffer(buffer);
    this.lent = NONE;
  }

  end(): void {
    this.eof = true;
    this.resolveClosed();
    this.peek?.wake(this.early, this.earlyBytes, true);
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
    // The handle is closed: no read goes into our buffer any more. Lent buffers may still be
    // referenced by writes that were dropped with the socket; the GC takes those.
    this.dropBuffer();
    this.lent = NONE;
    this.resolveClosed();
    this.peek?.wake(this.early, this.earlyBytes, true);
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
    this.early = NONE; // never pushed to again: reads go to the peer now
    this.earlyBytes = 0;
    if (this.eof) peer.finishWriting();
    if (writable) this.socket.resume();
    else this.socket.pause();
  }
}

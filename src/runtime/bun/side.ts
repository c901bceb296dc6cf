// One end of a proxied connection on Bun: early buffering, then forwarding with manual backpressure
// (Bun's write() takes what the kernel accepts now; we queue the rest and pause the source).
import { SplicePair } from "../splice-pair.ts";
import { limits } from "../limits.ts";
import type { SpliceTally } from "../splice-tally.ts";
import { dropFront, EarlyPeek } from "../early-bytes.ts";
import type { ClientSocket, UpstreamSocket } from "../types.ts";
import type { BunSocket, BunSocketHandler } from "./api.ts";

const closeSide = (side: BunSide): void => {
  side.close();
};

export class BunSide implements ClientSocket, UpstreamSocket {
  socket!: BunSocket<BunSide>;
  readonly closed: Promise<void>;
  peer: BunSide | null = null;
  pair: SplicePair<BunSide> | null = null;
  failed = false;
  /** Set when connect() gave up: the socket is closed the moment it opens. */
  cancelled = false;
  private resolveClosed!: () => void;
  private early: Uint8Array[] = [];
  private earlyBytes = 0;
  /** Bytes on their way to this socket that it did not take yet. */
  private pending: Uint8Array[] = [];
  private shutAfterFlush = false;
  private writeShut = false;
  private eof = false;
  private isGone = false;
  private paused = false;
  private address: string | undefined;
  private port: number | undefined;
  /** Only for a client whose first bytes are read before splice (PROXY header). */
  private peek: EarlyPeek | null = null;

  private readonly isClient: boolean;
  constructor(isClient: boolean) {
    this.isClient = isClient;
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
  }

  attach(socket: BunSocket<BunSide>): void {
    this.socket = socket; // Bun sets TCP_NODELAY on accepted and connected sockets itself
    if (this.isClient) this.address = socket.remoteAddress ?? ""; // routing needs it: read it while open
  }

  // Lazy: each read is a getpeername() syscall, and upstream sides never need them.
  get remoteAddress(): string {
    return (this.address ??= this.socket.remoteAddress ?? "");
  }

  get remotePort(): number {
    return (this.port ??= this.socket.remotePort ?? 0);
  }

  get localAddress(): string {
    return this.socket.localAddress ?? "";
  }

  get localPort(): number {
    return this.socket.localPort ?? 0;
  }

  peekEarly(minBytes: number): Promise<Uint8Array> {
    return (this.peek ??= new EarlyPeek()).wait(minBytes, this.early, this.earlyBytes, this.earlyDone());
  }

  skipEarly(n: number): void {
    this.earlyBytes -= dropFront(this.early, n);
  }

  private earlyDone(): boolean {
    return this.eof || this.isGone || this.earlyBytes >= limits.earlyBytes;
  }

  /** Wires two sides together: early bytes first, then live forwarding both ways. */
  static join(client: BunSide, upstream: BunSide, tally: SpliceTally, upstreamPrefix?: Uint8Array): SplicePair<BunSide> {
    const pair = new SplicePair(client, upstream, tally, closeSide);
    client.pair = upstream.pair = pair;
    client.peer = upstream;
    upstream.peer = client;
    if (upstreamPrefix !== undefined) upstream.send(upstreamPrefix);
    client.flushEarly();
    upstream.flushEarly();
    if (client.isGone) pair.sideGone(client);
    if (upstream.isGone) pair.sideGone(upstream);
    return pair;
  }

  onData(chunk: Uint8Array): void {
    const peer = this.peer;
    if (peer === null) {
      this.early.push(chunk);
      this.earlyBytes += chunk.length;
      this.peek?.wake(this.early, this.earlyBytes, this.earlyDone());
      if (this.earlyBytes >= limits.earlyBytes) this.pause();
      return;
    }
    this.count(chunk.length);
    if (!peer.send(chunk)) this.pause();
  }

  /** Writes what the kernel takes now and queues the rest; false = the source must pause. */
  send(chunk: Uint8Array): boolean {
    if (this.pending.length > 0) {
      this.pending.push(chunk);
      return false;
    }
    const written = this.socket.write(chunk);
    if (written === chunk.length || written < 0) return true; // < 0: closed, its close handler cleans up
    // Bun hands every data event a fresh buffer, so keeping a view of it is safe.
    this.pending.push(written > 0 ? chunk.subarray(written) : chunk);
    return false;
  }

  /** Drain handler: write the queue; once empty, let the source read again. */
  onDrain(): void {
    const pending = this.pending;
    while (pending.length > 0) {
      const chunk = pending[0]!;
      const written = this.socket.write(chunk);
      if (written < 0) return;
      if (written < chunk.length) {
        pending[0] = chunk.subarray(written);
        return;
      }
      pending.shift();
    }
    if (this.shutAfterFlush) this.shutWrite();
    this.peer?.resume();
  }

  /** FIN from this socket's remote. */
  onEof(): void {
    if (this.eof) return;
    this.eof = true;
    this.resolveClosed();
    this.peek?.wake(this.early, this.earlyBytes, true);
    this.peer?.shutWrite(); // half-close: keep the other direction flowing
  }

  onGone(error?: Error): void {
    if (this.isGone) return;
    this.isGone = true;
    if (error) this.failed = true;
    // Bun reports a FIN that arrives after our own shutdown() as close, without end().
    if (!this.failed) this.onEof();
    this.resolveClosed();
    this.peek?.wake(this.early, this.earlyBytes, true);
    this.pair?.sideGone(this);
  }

  /** Sends FIN once everything queued for this socket went out. */
  shutWrite(): void {
    if (this.writeShut || this.isGone) return;
    if (this.pending.length > 0) {
      this.shutAfterFlush = true;
      return;
    }
    this.writeShut = true;
    // Its remote finished sending already: close outright, one syscall and no half-open state.
    if (this.eof) this.socket.end();
    else this.socket.shutdown();
  }

  close(): void {
    if (this.isGone) return;
    this.port ??= this.socket.remotePort ?? 0; // still readable now, not after the close
    this.socket.end();
  }

  // pause/resume are epoll_ctl calls: only issue them on a real change.
  private pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.socket.pause();
  }

  private resume(): void {
    if (!this.paused || this.isGone) return;
    this.paused = false;
    this.socket.resume();
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
      writable = peer.send(chunk);
    }
    this.early = [];
    this.earlyBytes = 0;
    if (this.eof) peer.shutWrite();
    if (writable) this.resume();
    else this.pause();
  }
}

/** Socket handlers shared by every socket: each event goes to the BunSide in socket.data. */
export const sideHandlers = {
  binaryType: "uint8array",
  data: (socket, data) => socket.data.onData(data),
  drain: (socket) => socket.data.onDrain(),
  end: (socket) => socket.data.onEof(),
  close: (socket, error) => socket.data.onGone(error),
  error: (socket) => {
    socket.data.failed = true;
  },
} as const satisfies BunSocketHandler<BunSide>;

// One end of a proxied connection on Deno: read → write to the peer → read, one direction per side,
// into a pooled buffer (no web streams: pipeTo costs ~2x CPU). Before splice() the reads fill a
// bounded early-bytes list, so a client that leaves is noticed and its first bytes are kept.
// Deno keeps a read's buffer until bytes arrive and cannot tell when a socket is readable, so an
// idle socket must hold the buffer of its pending read: after a read that drained the socket (short)
// that is the side's small probe (limits.idleReadBuffer), not a pooled 8 or 64 KiB buffer; a read
// that fills the probe moves the side back to a pooled buffer.
// The loop is driven by four completion handlers made once per side, not by async functions: an
// idle connection then holds two pending reads, not a chain of suspended async frames, promises and
// await closures per direction (measured: 7.3 → 5.9 KiB of JS heap per idle proxied connection).
import { limits } from "../limits.ts";
import type { SpliceTally } from "../splice-tally.ts";
import type { ClientSocket, UpstreamSocket } from "../types.ts";
import type { DenoConn } from "./api.ts";
import { giveBuffer, largeBuffers, probeBuffers } from "../buffer-pool.ts";
import { dropFront, EarlyPeek } from "../early-bytes.ts";

const NOTHING = new Uint8Array(0);

/** Both ends of one splice; closes both and settles once both directions finished. */
class Pair {
  private running = 2;
  readonly client: DenoSide;
  readonly upstream: DenoSide;
  readonly tally: SpliceTally;
  constructor(
    client: DenoSide,
    upstream: DenoSide,
    tally: SpliceTally,
  ) {
    this.client = client;
    this.upstream = upstream;
    this.tally = tally;
  }

  /** `from` saw EOF (or failed) and everything it read was written to its peer. */
  directionDone(from: DenoSide, failed: boolean): void {
    if (failed && this.tally.fail("error")) this.closeBoth();
    if (--this.running === 0) {
      // Both directions finished: close() sends the last FIN, no separate closeWrite() needed.
      this.closeBoth();
      this.tally.settle();
    } else if (!failed) {
      from.peer!.shutWrite(); // half-close: the other direction keeps flowing
    }
  }

  closeBoth(): void {
    this.client.close();
    this.upstream.close();
  }
}

export class DenoSide implements ClientSocket, UpstreamSocket {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly closed: Promise<void>;
  peer: DenoSide | null = null;
  closing = false;
  private pair: Pair | null = null;
  private resolveClosed!: () => void;
  /** Pooled buffer while bytes flow; null: reads go into `probe`. */
  private buffer: Uint8Array | null = null;
  /** What an idle socket's pending read holds (small; the side's own until it is done). */
  private readonly probe: Uint8Array = probeBuffers.take();
  /** The buffer the read in flight goes into; null: no read in flight. */
  private reading: Uint8Array | null = null;
  /** Before splice: what was read. After: chunks still to write before live forwarding. */
  private early: Uint8Array[] = [];
  private earlyBytes = 0;
  /** A read that completed while early chunks were still being written waits here (bytes in `held`). */
  private held: Uint8Array | null = null;
  private heldBytes = 0;
  /** The chunk being written to the peer, [0, outEnd), written up to outOffset. */
  private out: Uint8Array = NOTHING;
  private outEnd = 0;
  private outOffset = 0;
  /** `out` is a read buffer (it goes back to reading once written), not an early chunk. */
  private outIsRead = false;
  private ended = false;
  private failed = false;
  private done = false;
  /** Only for a client whose first bytes are read before splice (PROXY header). */
  private peek: EarlyPeek | null = null;
  /** Written to the peer before anything else and not counted (a PROXY header for the backend). */
  private prefix: Uint8Array | null = null;

  readonly conn: DenoConn;
  private readonly isClient: boolean;
  constructor(
    conn: DenoConn,
    isClient: boolean,
  ) {
    this.conn = conn;
    this.isClient = isClient;
    const remote = conn.remoteAddr;
    this.remoteAddress = remote.hostname;
    this.remotePort = remote.port;
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    try {
      conn.setNoDelay?.(true);
    } catch {
      // the peer is gone already; the first read reports it
    }
    this.startRead();
  }

  static join(client: DenoSide, upstream: DenoSide, tally: SpliceTally, upstreamPrefix?: Uint8Array): Pair {
    const pair = new Pair(client, upstream, tally);
    if (upstreamPrefix !== undefined) client.prefix = upstreamPrefix;
    client.pair = upstream.pair = pair;
    client.peer = upstream;
    upstream.peer = client;
    client.next(); // early bytes first, then whatever comes next
    upstream.next();
    return pair;
  }

  get localAddress(): string {
    return this.conn.localAddr.hostname;
  }

  get localPort(): number {
    return this.conn.localAddr.port;
  }

  peekEarly(minBytes: number): Promise<Uint8Array> {
    return (this.peek ??= new EarlyPeek()).wait(minBytes, this.early, this.earlyBytes, this.earlyDone());
  }

  skipEarly(n: number): void {
    this.earlyBytes -= dropFront(this.early, n);
  }

  private earlyDone(): boolean {
    return this.ended || this.closing || this.earlyBytes >= limits.earlyBytes;
  }

  close(): void {
    if (this.closing) return;
    this.closing = true;
    this.resolveClosed();
    try {
      this.conn.close();
    } catch {
      // already closed by the runtime
    }
  }

  shutWrite(): void {
    if (this.closing) return;
    this.conn.closeWrite().catch(() => {}); // a remote that is gone already shows up on the read side
  }

  private startRead(): void {
    const buffer = (this.reading = this.buffer ?? this.probe);
    this.conn.read(buffer).then(this.onRead, this.onReadFailed);
  }

  private readonly onRead = (n: number | null): void => {
    const buffer = this.reading!;
    this.reading = null;
    if (this.done) return;
    if (n === null) {
      this.ended = true;
      this.resolveClosed();
      this.peek?.wake(this.early, this.earlyBytes, true);
      if (this.peer !== null && !this.isWriting()) this.finish(false);
      return;
    }
    if (this.peer === null) {
      // Before splice: keep reading (bounded) so early bytes are kept and a leaving client is noticed.
      this.early.push(buffer.slice(0, n));
      this.earlyBytes += n;
      this.nextBuffer(buffer, n);
      this.peek?.wake(this.early, this.earlyBytes, this.earlyDone());
      if (this.earlyBytes < limits.earlyBytes) this.startRead(); // else: splice() reads on
      return;
    }
    if (this.isWriting()) {
      // Early chunks are still going out: this read waits its turn (and its buffer with it).
      this.held = buffer;
      this.heldBytes = n;
      return;
    }
    this.write(buffer, n, true);
  };

  private readonly onReadFailed = (): void => {
    this.reading = null;
    this.ended = true;
    if (!this.closing) this.failed = true;
    this.resolveClosed();
    this.peek?.wake(this.early, this.earlyBytes, true);
    if (!this.done && this.peer !== null && !this.isWriting()) this.finish(false);
  };

  private isWriting(): boolean {
    return this.out !== NOTHING;
  }

  private write(chunk: Uint8Array, n: number, isRead: boolean, counted = true): void {
    if (!counted) {
      // not client bytes: no tally
    } else if (this.isClient) this.pair!.tally.bytesFromClient += n;
    else this.pair!.tally.bytesToClient += n;
    this.out = chunk;
    this.outEnd = n;
    this.outOffset = 0;
    this.outIsRead = isRead;
    this.peer!.conn.write(n === chunk.length ? chunk : chunk.subarray(0, n)).then(this.onWritten, this.onWriteFailed);
  }

  private readonly onWritten = (written: number): void => {
    this.outOffset += written;
    if (this.outOffset < this.outEnd) {
      this.peer!.conn.write(this.out.subarray(this.outOffset, this.outEnd)).then(this.onWritten, this.onWriteFailed);
      return;
    }
    const chunk = this.out;
    this.out = NOTHING;
    if (this.outIsRead) this.nextBuffer(chunk, this.outEnd);
    this.next();
  };

  private readonly onWriteFailed = (): void => {
    this.out = NOTHING;
    const writeFailed = !this.peer!.closing;
    if (writeFailed) this.pair!.closeBoth(); // also ends a read still in flight
    this.finish(writeFailed);
  };

  /** Nothing being written: the next early chunk, a held read, the end, or the next read. */
  private next(): void {
    if (this.done) return;
    if (this.prefix !== null) {
      const prefix = this.prefix;
      this.prefix = null;
      return this.write(prefix, prefix.length, false, false);
    }
    const chunk = this.early.shift();
    if (chunk !== undefined) return this.write(chunk, chunk.length, false);
    this.earlyBytes = 0;
    if (this.held !== null) {
      const held = this.held;
      this.held = null;
      return this.write(held, this.heldBytes, true);
    }
    if (this.ended) return this.finish(false);
    if (this.reading === null) this.startRead(); // (the read from before splice may still be in flight)
  }

  /** After a read of `n` into `buffer` was written: a full one means more is waiting (a large pooled
   *  buffer next), a short one drained the socket (the probe next, the pooled buffer back). */
  private nextBuffer(buffer: Uint8Array, n: number): void {
    if (n === buffer.length) {
      if (buffer.length !== largeBuffers.size) {
        if (buffer !== this.probe) giveBuffer(buffer);
        this.buffer = largeBuffers.take();
      }
    } else if (buffer !== this.probe) {
      giveBuffer(buffer);
      this.buffer = null;
    }
  }

  /** This direction is over: EOF or a failure, and everything read was written (or cannot be). */
  private finish(writeFailed: boolean): void {
    if (this.done) return;
    this.done = true;
    // Back to the pools only when no read can write into them any more.
    if (this.reading === null) {
      if (this.buffer !== null) giveBuffer(this.buffer);
      probeBuffers.give(this.probe);
    }
    this.buffer = null;
    this.early = [];
    this.pair!.directionDone(this, this.failed || writeFailed);
  }
}

// One end of a proxied connection on Deno: one read loop per direction into a pooled buffer, writing
// straight to the peer (no web streams: pipeTo costs ~2x CPU). Before splice() the reads fill a
// bounded early-bytes list, so a client that leaves is noticed and its first bytes are kept.
import { limits } from "../limits.ts";
import type { SpliceTally } from "../splice-tally.ts";
import type { ClientSocket, UpstreamSocket } from "../types.ts";
import type { DenoConn } from "./api.ts";
import { giveBuffer, largeBuffers, smallBuffers } from "../buffer-pool.ts";

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
  private buffer: Uint8Array = smallBuffers.take();
  /** The read in progress, if any: splice() takes it over from the early-bytes loop. */
  private inFlight: Promise<number | null> | null = null;
  private early: Uint8Array[] = [];
  private earlyBytes = 0;
  private ended = false;
  private failed = false;

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
    void this.readEarly();
  }

  static join(client: DenoSide, upstream: DenoSide, tally: SpliceTally): Pair {
    const pair = new Pair(client, upstream, tally);
    client.pair = upstream.pair = pair;
    client.peer = upstream;
    upstream.peer = client;
    void client.forwardLoop(upstream);
    void upstream.forwardLoop(client);
    return pair;
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

  /** Before splice: keep reading (bounded) so early bytes are kept and a leaving client is noticed. */
  private async readEarly(): Promise<void> {
    while (this.earlyBytes < limits.earlyBytes) {
      const read = (this.inFlight = this.read());
      const n = await read;
      if (this.peer !== null) return; // splice() came meanwhile: forwardLoop owns this read
      this.inFlight = null;
      if (n === null) {
        this.ended = true;
        return;
      }
      this.early.push(this.buffer.slice(0, n));
      this.earlyBytes += n;
    }
  }

  /** After splice: early bytes first, then the read that was in flight, then read → write until EOF. */
  private async forwardLoop(peer: DenoSide): Promise<void> {
    let pending = this.inFlight;
    this.inFlight = null;
    let writeFailed = false;
    try {
      for (const chunk of this.early) await this.forward(peer, chunk);
      this.early = [];
      if (pending !== null) {
        const n = await pending;
        pending = null;
        if (n !== null) await this.forward(peer, this.buffer.subarray(0, n));
      }
      if (!this.ended) await this.pump(peer);
    } catch {
      writeFailed = !peer.closing;
    }
    if (writeFailed) this.pair!.closeBoth(); // ends a read still in flight before the buffer goes back
    if (pending !== null) await pending;
    giveBuffer(this.buffer);
    this.pair!.directionDone(this, this.failed || writeFailed);
  }

  /** The hot loop, with the read and write ops awaited directly (no wrapper promise per chunk). */
  private async pump(peer: DenoSide): Promise<void> {
    const { conn, pair } = this;
    const tally = pair!.tally;
    const out = peer.conn;
    let buffer = this.buffer;
    for (;;) {
      let n: number | null;
      try {
        n = await conn.read(buffer);
      } catch {
        this.readFailed();
        return;
      }
      if (n === null) {
        this.readEnded();
        return;
      }
      if (this.isClient) tally.bytesFromClient += n;
      else tally.bytesToClient += n;
      let offset = await out.write(n === buffer.length ? buffer : buffer.subarray(0, n));
      while (offset < n) offset += await out.write(buffer.subarray(offset, n));
      if (n === buffer.length && buffer.length < largeBuffers.size) {
        // A full read means bulk data: switch to the large buffer (no read is using the small one).
        giveBuffer(buffer);
        buffer = this.buffer = largeBuffers.take();
      }
    }
  }

  /** One read; null at EOF or on error (an error we did not cause marks the side failed). */
  private async read(): Promise<number | null> {
    try {
      const n = await this.conn.read(this.buffer);
      if (n === null) this.readEnded();
      return n;
    } catch {
      this.readFailed();
      return null;
    }
  }

  private readEnded(): void {
    this.ended = true;
    this.resolveClosed();
  }

  private readFailed(): void {
    this.ended = true;
    if (!this.closing) this.failed = true;
    this.resolveClosed();
  }

  private async forward(peer: DenoSide, chunk: Uint8Array): Promise<void> {
    if (this.isClient) this.pair!.tally.bytesFromClient += chunk.length;
    else this.pair!.tally.bytesToClient += chunk.length;
    let offset = await peer.conn.write(chunk);
    while (offset < chunk.length) offset += await peer.conn.write(chunk.subarray(offset));
  }
}

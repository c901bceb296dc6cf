// One end of a proxied connection on Deno: a read loop into one reused buffer that first fills the
// early-bytes list, then (after splice) writes straight to the peer. No web streams: pipeTo costs ~2x CPU.
import { limits } from "../limits.ts";
import type { SpliceTally } from "../splice-tally.ts";
import type { ClientSocket, UpstreamSocket } from "../types.ts";
import type { DenoConn } from "./api.ts";

const joinedMark = Symbol("joined");

/** Both ends of one splice; closes both and settles once both directions finished. */
class Pair {
  private running = 2;
  constructor(
    readonly client: DenoSide,
    readonly upstream: DenoSide,
    readonly tally: SpliceTally,
  ) {}

  directionDone(failed: boolean): void {
    if (failed && this.tally.fail("error")) this.closeBoth();
    if (--this.running === 0) {
      this.closeBoth();
      this.tally.settle();
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
  pair: Pair | null = null;
  private resolveClosed!: () => void;
  private resolveJoined!: (peer: DenoSide | null) => void;
  private readonly joined: Promise<DenoSide | null>;
  private readonly buffer = new Uint8Array(limits.readBuffer);
  private peer: DenoSide | null = null;
  private early: Uint8Array[] = [];
  private earlyBytes = 0;
  private failed = false;
  private closing = false;
  private writeShut = false;

  constructor(
    readonly conn: DenoConn,
    private readonly isClient: boolean,
  ) {
    this.remoteAddress = conn.remoteAddr.hostname;
    this.remotePort = conn.remoteAddr.port;
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    this.joined = new Promise((resolve) => (this.resolveJoined = resolve));
    conn.setNoDelay(true);
    void this.run();
  }

  static join(client: DenoSide, upstream: DenoSide, tally: SpliceTally): Pair {
    const pair = new Pair(client, upstream, tally);
    client.pair = upstream.pair = pair;
    client.peer = upstream;
    upstream.peer = client;
    client.resolveJoined(upstream);
    upstream.resolveJoined(client);
    return pair;
  }

  close(): void {
    if (this.closing) return;
    this.closing = true;
    this.resolveClosed();
    this.resolveJoined(null);
    try {
      this.conn.close();
    } catch {
      // already closed by the runtime
    }
  }

  /** The read loop: early bytes until splice (bounded), then forwarding until EOF or error. */
  private async run(): Promise<void> {
    const buffer = this.buffer;
    let inFlight: Promise<number | null> | null = null; // a read still running when splice() came
    let ended = false;
    while (this.earlyBytes < limits.earlyBytes) {
      const read = this.read();
      // Splice must not wait for the client's next bytes to flush the early ones.
      const first = await Promise.race([read, this.joined.then(() => joinedMark)]);
      if (first === joinedMark) {
        inFlight = read;
        break;
      }
      if (first === null) {
        ended = true;
        break;
      }
      this.early.push(buffer.slice(0, first));
      this.earlyBytes += first;
    }
    const peer = await this.joined;
    if (peer === null) return;
    let writeFailed = false;
    try {
      for (const chunk of this.early) await this.forward(peer, chunk);
      this.early = [];
      while (!ended) {
        const n = await (inFlight ?? this.read());
        inFlight = null;
        if (n === null) break;
        await this.forward(peer, buffer.subarray(0, n));
      }
      if (!this.failed) await peer.shutWrite();
    } catch {
      writeFailed = !peer.closing;
    }
    this.pair!.directionDone(this.failed || writeFailed);
  }

  /** One read; null at EOF or on error (an error we did not cause marks the side failed). */
  private async read(): Promise<number | null> {
    try {
      const n = await this.conn.read(this.buffer);
      if (n === null && this.isClient) this.resolveClosed();
      return n;
    } catch {
      if (!this.closing) this.failed = true;
      this.resolveClosed();
      return null;
    }
  }

  private async forward(peer: DenoSide, chunk: Uint8Array): Promise<void> {
    if (this.isClient) this.pair!.tally.bytesFromClient += chunk.length;
    else this.pair!.tally.bytesToClient += chunk.length;
    let offset = 0;
    while (offset < chunk.length) offset += await peer.conn.write(offset === 0 ? chunk : chunk.subarray(offset));
  }

  private async shutWrite(): Promise<void> {
    if (this.writeShut || this.closing) return;
    this.writeShut = true;
    try {
      await this.conn.closeWrite();
    } catch {
      // the remote is gone already; the read side reports it
    }
  }
}

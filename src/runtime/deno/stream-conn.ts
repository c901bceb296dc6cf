// A Deno-style connection (read into a caller's buffer / write / closeWrite / close) over a node:tls
// socket, so a TLS client splices through DenoSide like any other. Deno.listenTls is not used: a
// TlsConn closed during its handshake stays open until the client finishes or leaves (Deno waits for
// the handshake before shutting down), which makes a handshake timeout impossible.
// Known Deno 2.9 bug: a node:tls server socket that was paused can miss the client's FIN ('end' never
// comes). The pause threshold is high, so it needs a client far ahead of a slow backend; such a
// connection then ends at the client's close or the idle timeout instead of at the half-close.
import type { TLSSocket } from "node:tls";
import type { DenoConn } from "./api.ts";

/** Queued bytes above which the socket stops reading until DenoSide catches up. */
const HIGH_WATER = 1024 * 1024;

export class StreamConn implements DenoConn {
  readonly remoteAddr: { hostname: string; port: number };
  readonly localAddr: { hostname: string; port: number };
  #queue: Uint8Array[] = [];
  #queued = 0;
  #ended = false;
  #error: Error | null = null;
  #wake: (() => void) | null = null;

  readonly socket: TLSSocket;
  constructor(socket: TLSSocket) {
    this.socket = socket;
    this.remoteAddr = { hostname: socket.remoteAddress ?? "", port: socket.remotePort ?? 0 };
    this.localAddr = { hostname: socket.localAddress ?? "", port: socket.localPort ?? 0 };
    socket.on("data", (chunk: Uint8Array) => {
      this.#queue.push(chunk);
      this.#queued += chunk.length;
      if (this.#queued >= HIGH_WATER) socket.pause();
      this.#notify();
    });
    socket.on("end", () => {
      this.#ended = true;
      this.#notify();
    });
    socket.on("error", (error) => {
      this.#error = error;
      this.#notify();
    });
    socket.on("close", () => {
      this.#ended = true;
      this.#notify();
    });
  }

  async read(buffer: Uint8Array): Promise<number | null> {
    while (this.#queue.length === 0) {
      if (this.#error) throw this.#error;
      if (this.#ended) return null;
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
    const chunk = this.#queue[0]!;
    const n = Math.min(chunk.length, buffer.length);
    buffer.set(n === chunk.length ? chunk : chunk.subarray(0, n));
    if (n === chunk.length) this.#queue.shift();
    else this.#queue[0] = chunk.subarray(n);
    this.#queued -= n;
    if (this.#queued < HIGH_WATER && this.socket.isPaused()) this.socket.resume();
    return n;
  }

  async write(data: Uint8Array): Promise<number> {
    if (this.socket.destroyed) throw this.#error ?? new Error("write after close");
    // A copy: DenoSide reuses its buffer as soon as write() resolves, node may still hold the chunk.
    if (!this.socket.write(data.slice())) {
      await new Promise<void>((resolve, reject) => {
        const done = () => {
          this.socket.off("drain", done).off("close", done);
          if (this.socket.destroyed) reject(this.#error ?? new Error("closed while writing"));
          else resolve();
        };
        this.socket.on("drain", done).on("close", done);
      });
    }
    return data.length;
  }

  closeWrite(): Promise<void> {
    this.socket.end(); // close_notify, then FIN
    return Promise.resolve();
  }

  close(): void {
    this.socket.destroy();
    this.#ended = true;
    this.#notify();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }
}

// Read buffers reused across connections (a fresh buffer per direction per connection costs an
// allocation, zeroing and GC work on every accept). Large ones for bulk reads; small ones for copies
// of short reads (Node) and Deno's probes, the buffer an idle Deno socket's pending read holds.
import { limits } from "./limits.ts";

class Pool {
  private readonly free: Uint8Array[] = [];
  /** Taken and not given back (a buffer dropped with its socket stays counted: tests only). */
  inUse = 0;
  readonly size: number;
  private readonly maxPooled: number;
  constructor(
    size: number,
    maxPooled: number,
  ) {
    this.size = size;
    this.maxPooled = maxPooled;
  }

  take(): Uint8Array {
    this.inUse++;
    return this.free.pop() ?? new Uint8Array(this.size);
  }

  /** Only once no read can write into it any more. */
  give(buffer: Uint8Array): void {
    this.inUse--;
    if (this.free.length < this.maxPooled) this.free.push(buffer);
  }
}

export const smallBuffers = new Pool(limits.smallReadBuffer, 1024); // 8 MiB kept at most
export const largeBuffers = new Pool(limits.readBuffer, 128); // 8 MiB kept at most
export const probeBuffers = new Pool(limits.idleReadBuffer, 4096); // 4 MiB kept at most

/** Returns a buffer to the pool it came from. */
export function giveBuffer(buffer: Uint8Array): void {
  const n = buffer.length;
  (n === largeBuffers.size ? largeBuffers : n === smallBuffers.size ? smallBuffers : probeBuffers).give(buffer);
}

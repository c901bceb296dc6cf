// Read buffers reused across connections (a fresh buffer per direction per connection costs an
// allocation, zeroing and GC work on every accept). Two sizes: every connection starts small, since
// an idle one keeps its buffer in the pending read; a direction that fills it moves to a large one.
import { limits } from "./limits.ts";

class Pool {
  private readonly free: Uint8Array[] = [];
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
    return this.free.pop() ?? new Uint8Array(this.size);
  }

  /** Only once no read can write into it any more. */
  give(buffer: Uint8Array): void {
    if (this.free.length < this.maxPooled) this.free.push(buffer);
  }
}

export const smallBuffers = new Pool(limits.smallReadBuffer, 1024); // 8 MiB kept at most
export const largeBuffers = new Pool(limits.readBuffer, 128); // 8 MiB kept at most

/** Returns a buffer to the pool it came from. */
export function giveBuffer(buffer: Uint8Array): void {
  (buffer.length === largeBuffers.size ? largeBuffers : smallBuffers).give(buffer);
}

// Read buffers reused across connections: a fresh 64 KiB buffer per direction per connection costs
// an allocation, zeroing and GC work on every accept.
import { limits } from "../limits.ts";

const maxPooled = 256; // 16 MiB kept at most

const free: Uint8Array[] = [];

export const bufferPool = {
  take(): Uint8Array {
    return free.pop() ?? new Uint8Array(limits.readBuffer);
  },
  /** Only once no read can write into it any more. */
  give(buffer: Uint8Array): void {
    if (free.length < maxPooled) free.push(buffer);
  },
} as const;

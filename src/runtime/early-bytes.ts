// Reading a client's first bytes before splice (ClientSocket.peekEarly/skipEarly), shared by the
// adapters: each keeps its early bytes as a list of chunks and calls `wake` when that list grows
// or can grow no more.

/** One pending peekEarly(): resolved by `wake` once enough bytes are there or no more can come. */
export class EarlyPeek {
  private min = 0;
  private resolve: ((bytes: Uint8Array) => void) | null = null;

  /** Resolves at once when `done` or enough is buffered; otherwise at a later wake(). */
  wait(minBytes: number, chunks: readonly Uint8Array[], total: number, done: boolean): Promise<Uint8Array> {
    if (done || total >= minBytes) return Promise.resolve(joinChunks(chunks, total));
    this.resolve?.(joinChunks(chunks, total)); // one peek at a time: a superseded one gets what there is
    this.min = minBytes;
    return new Promise((resolve) => (this.resolve = resolve));
  }

  get waiting(): boolean {
    return this.resolve !== null;
  }

  wake(chunks: readonly Uint8Array[], total: number, done: boolean): void {
    const resolve = this.resolve;
    if (resolve === null || (!done && total < this.min)) return;
    this.resolve = null;
    resolve(joinChunks(chunks, total));
  }
}

export function joinChunks(chunks: readonly Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/** Removes the first `n` bytes from `chunks` (in place); returns how many were removed. */
export function dropFront(chunks: Uint8Array[], n: number): number {
  let left = n;
  while (left > 0 && chunks.length > 0) {
    const first = chunks[0]!;
    if (first.length <= left) {
      left -= first.length;
      chunks.shift();
    } else {
      chunks[0] = first.subarray(left);
      left = 0;
    }
  }
  return n - left;
}

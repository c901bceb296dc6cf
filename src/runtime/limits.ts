// Buffering bounds shared by every adapter.

export const limits = {
  /** Bytes a socket may buffer before splice(); reading pauses past this (bounded memory per client). */
  earlyBytes: 64 * 1024,
  /** Pooled buffer for copies of short reads (Node: out of the shared landing buffer). */
  smallReadBuffer: 8 * 1024,
  /** What an idle socket's pending read holds where the runtime keeps the buffer of a pending read
   *  (Deno): big enough for a typical request or TLS ClientHello in one read. */
  idleReadBuffer: 1024,
  /** Read buffer once a read filled the small one (bulk transfer). */
  readBuffer: 64 * 1024,
} as const;

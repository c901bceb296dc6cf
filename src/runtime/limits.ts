// Buffering bounds shared by every adapter.

export const limits = {
  /** Bytes a socket may buffer before splice(); reading pauses past this (bounded memory per client). */
  earlyBytes: 64 * 1024,
  /** First read buffer per direction where the adapter owns it (Deno): small, because an idle
   *  connection holds it in its pending read. */
  smallReadBuffer: 8 * 1024,
  /** Read buffer once a read filled the small one (bulk transfer). */
  readBuffer: 64 * 1024,
} as const;

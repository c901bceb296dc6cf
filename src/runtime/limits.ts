// Buffering bounds shared by every adapter.

export const limits = {
  /** Bytes a socket may buffer before splice(); reading pauses past this (bounded memory per client). */
  earlyBytes: 64 * 1024,
  /** Read buffer per direction where the adapter owns it (Deno). */
  readBuffer: 64 * 1024,
} as const;

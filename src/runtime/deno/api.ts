// The slice of Deno's socket API this adapter uses, typed here so the code type-checks anywhere.

export interface DenoNetAddr {
  readonly hostname: string;
  readonly port: number;
}

export interface DenoConn {
  readonly remoteAddr: DenoNetAddr;
  readonly localAddr: DenoNetAddr;
  /** Bytes read into `buffer`, or null at EOF; rejects after close() or on a reset. */
  read(buffer: Uint8Array): Promise<number | null>;
  /** Bytes written (may be fewer than given). */
  write(data: Uint8Array): Promise<number>;
  /** Sends FIN; reading goes on. */
  closeWrite(): Promise<void>;
  close(): void;
  /** Absent on a StreamConn (TLS; node:tls sets no-delay itself). */
  setNoDelay?(noDelay?: boolean): void;
}

export interface DenoListener {
  readonly addr: DenoNetAddr;
  accept(): Promise<DenoConn>;
  close(): void;
}

export interface DenoApi {
  listen(options: { hostname: string; port: number; transport?: "tcp"; reusePort?: boolean }): DenoListener;
  /** Used only to check a certificate/key pair (see deno/tls-listener.ts). */
  listenTls(options: { hostname: string; port: number; cert: string; key: string }): { close(): void };
  connect(options: { hostname: string; port: number; transport?: "tcp"; signal?: AbortSignal }): Promise<DenoConn>;
}

export function denoApi(): DenoApi {
  return (globalThis as unknown as { Deno: DenoApi }).Deno;
}

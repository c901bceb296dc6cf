// The slice of Bun's socket API this adapter uses, typed here so the code type-checks anywhere.

export interface BunSocket<Data> {
  data: Data;
  readonly remoteAddress: string;
  readonly remotePort?: number;
  readonly localAddress?: string;
  readonly localPort?: number;
  /** Bytes written now (possibly fewer than given, -1 when closed); Bun keeps no write queue. */
  write(data: Uint8Array): number;
  /** No argument: send FIN, keep receiving (half-close). */
  shutdown(): void;
  /** Close now (the remote sees FIN; unsent data is dropped). */
  end(): void;
  terminate(): void;
  pause(): void;
  resume(): void;
  setNoDelay(enabled: boolean): boolean;
}

export interface BunSocketHandler<Data> {
  open?(socket: BunSocket<Data>): void;
  data?(socket: BunSocket<Data>, data: Uint8Array): void;
  drain?(socket: BunSocket<Data>): void;
  end?(socket: BunSocket<Data>): void;
  close?(socket: BunSocket<Data>, error?: Error): void;
  error?(socket: BunSocket<Data>, error: Error): void;
  connectError?(socket: BunSocket<Data>, error: Error): void;
  /** TLS only: the handshake finished (authorizationError is about the client certificate). */
  handshake?(socket: BunSocket<Data>, success: boolean, authorizationError: Error | null): void;
  binaryType?: "buffer" | "uint8array" | "arraybuffer";
}

export interface BunListener {
  readonly hostname: string;
  readonly port: number;
  /** false: stop accepting, keep established connections. */
  stop(closeActiveConnections?: boolean): void;
}

export interface BunApi {
  listen<Data>(options: {
    hostname: string;
    port: number;
    reusePort?: boolean;
    allowHalfOpen?: boolean;
    tls?: { cert: string; key: string };
    socket: BunSocketHandler<Data>;
  }): BunListener;
  connect<Data>(options: {
    hostname: string;
    port: number;
    allowHalfOpen?: boolean;
    data?: Data;
    socket: BunSocketHandler<Data>;
  }): Promise<BunSocket<Data>>;
}

export function bunApi(): BunApi {
  return (globalThis as unknown as { Bun: BunApi }).Bun;
}

// The one small interface every runtime adapter implements (src/runtime/{node,bun,deno}/transport.ts).
// Each adapter uses its runtime's fastest socket API; nothing outside src/runtime/ knows which.

export type RuntimeName = "node" | "bun" | "deno";

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** An accepted client connection, not yet spliced. Bytes it sends before splice() are buffered. */
export interface ClientSocket {
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Resolves when the client goes away before or during splice (lets the proxy abort a connect).
   *  TCP cannot tell a half-close from a close, so a FIN counts too; splice() still forwards the
   *  buffered bytes and the FIN if it is called anyway. Never rejects. */
  readonly closed: Promise<void>;
  /** The address and port the client connected to (this host's side; read lazily). */
  readonly localAddress: string;
  readonly localPort: number;
  /** Before splice: resolves with every byte the client sent so far (they stay buffered for splice)
   *  once there are at least `minBytes`, or sooner with fewer when no more can come (the client
   *  finished sending or left, or the early-bytes bound was reached). Reading a PROXY header.
   *  Also starts reading where the adapter would wait for splice (peekEarly(0): what is there now). */
  peekEarly(minBytes: number): Promise<Uint8Array>;
  /** Before splice: drops the first `n` buffered bytes; they never reach the backend. */
  skipEarly(n: number): void;
  close(): void;
}

/** A connected backend socket, not yet spliced. Bytes the backend sends before splice() (a greeting)
 *  are buffered and delivered to the client first. */
export interface UpstreamSocket {
  /** Resolves when the backend sends FIN, resets or the socket is closed (lets a connection pool drop
   *  a socket the backend gave up on while it waited). Never rejects. */
  readonly closed: Promise<void>;
  close(): void;
}

export interface SpliceOptions {
  /** Close both sides when no byte moved in either direction for this long; 0 = never. */
  readonly idleTimeoutMs: number;
  /** Written to the upstream before any client byte (a PROXY header); not counted as client bytes. */
  readonly upstreamPrefix?: Uint8Array;
}

export interface SpliceResult {
  readonly bytesFromClient: number;
  readonly bytesToClient: number;
  /** "eof": both directions finished (each half-close propagated); "idle": idle timeout;
   *  "error": a socket error on either side; "aborted": closed by abort(). */
  readonly reason: "eof" | "idle" | "error" | "aborted";
}

export interface Splice {
  readonly done: Promise<SpliceResult>;
  /** Bytes copied so far (read by the metrics scrape while the splice runs). */
  readonly bytesFromClient: number;
  readonly bytesToClient: number;
  /** Close both sides now (shutdown timeout). */
  abort(): void;
}

export interface Listener {
  readonly runtime: RuntimeName;
  /** The bound address (port resolved when 0 was asked for). */
  readonly address: HostPort;
  /** Stop accepting; established connections are not touched. */
  close(): Promise<void>;
}

export interface ListenOptions extends HostPort {
  /** SO_REUSEPORT: several listeners (one per worker thread) share the address; the kernel spreads
   *  new connections over them. Check reusePortSupport() (runtime/reuse-port.ts) first. */
  readonly reusePort?: boolean;
}

/** PEM certificate chain (leaf first) and its private key. */
export interface TlsCredentials {
  readonly cert: string;
  readonly key: string;
}

export interface TlsListenOptions extends ListenOptions {
  readonly credentials: TlsCredentials;
  /** A client that has not finished the TLS handshake by then is disconnected. */
  readonly handshakeTimeoutMs: number;
}

/** A listener that terminates TLS; its clients reach onClient only after a completed handshake. */
export interface TlsListener extends Listener {
  /** New connections get these credentials; established ones keep theirs. Rejects (and keeps the
   *  previous credentials) when the certificate or key cannot be used. */
  setCredentials(credentials: TlsCredentials): Promise<void>;
}

export interface Transport {
  readonly runtime: RuntimeName;
  /** Rejects like connect, e.g. "listen EADDRINUSE 0.0.0.0:8080" (code EADDRINUSE). */
  listen(options: ListenOptions, onClient: (client: ClientSocket) => void): Promise<Listener>;
  /** Like listen, terminating TLS; also rejects when the certificate or key cannot be used. */
  listenTls(options: TlsListenOptions, onClient: (client: ClientSocket) => void): Promise<TlsListener>;
  /** Rejects with an Error with an errno-style `code` and a message like "connect ECONNREFUSED
   *  127.0.0.1:9" or "connect timeout after 2000 ms to [::1]:9" (code ETIMEDOUT). A timed-out attempt
   *  is cancelled, or closed the moment it completes where the runtime cannot cancel it (Bun). */
  connect(target: HostPort, timeoutMs: number): Promise<UpstreamSocket>;
  /** Copy bytes both ways (buffered early client bytes first) with backpressure and half-close. */
  splice(client: ClientSocket, upstream: UpstreamSocket, options: SpliceOptions): Splice;
}

/** Time and timers, injected (runtime/clock.ts in production, a fake clock in tests). */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `fire` once, `delayMs` from now; returns what cancels it. */
  after(delayMs: number, fire: () => void): () => void;
}

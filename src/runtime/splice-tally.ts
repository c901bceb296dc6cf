// Byte counters, idle watch and the single resolution of a splice, shared by every adapter.
import { idleSweep, type IdleSweep, type IdleWatched } from "./idle-watch.ts";
import type { Splice, SpliceResult } from "./types.ts";

type Failure = Exclude<SpliceResult["reason"], "eof">;

/** What an adapter's pair of sockets offers the tally: close both ends now. */
export interface Closable {
  closeBoth(): void;
}

/** The Splice handed to the proxy; `abort` is a method (call it as splice.abort()). */
export class SpliceTally implements Splice, IdleWatched {
  bytesFromClient = 0;
  bytesToClient = 0;
  idleLast = 0;
  idleQuiet = 0;
  /** First failure wins; none means both directions ended cleanly. */
  failure: Failure | null = null;
  readonly done: Promise<SpliceResult>;
  private resolveDone!: (result: SpliceResult) => void;
  private settled = false;
  private pair: Closable | null = null;
  private idle: IdleSweep | null = null;

  constructor() {
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  /** Starts the idle watch once the adapter joined both sockets. */
  watch(pair: Closable, idleTimeoutMs: number): this {
    this.pair = pair;
    if (idleTimeoutMs > 0 && !this.settled) (this.idle = idleSweep(idleTimeoutMs)).add(this);
    return this;
  }

  abort(): void {
    this.end("aborted");
  }

  /** Closes both sides for `reason` unless the splice is already ending for another one. */
  end(reason: Failure): void {
    if (this.fail(reason)) this.pair?.closeBoth();
  }

  /** Records why the splice ends; returns false when another reason came first. */
  fail(reason: Failure): boolean {
    if (this.failure !== null || this.settled) return false;
    this.failure = reason;
    return true;
  }

  /** Resolves `done` exactly once. */
  settle(): void {
    if (this.settled) return;
    this.settled = true;
    this.idle?.delete(this);
    this.resolveDone({
      bytesFromClient: this.bytesFromClient,
      bytesToClient: this.bytesToClient,
      reason: this.failure ?? "eof",
    });
  }
}

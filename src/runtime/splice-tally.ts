// Byte counters and the single resolution of a splice, shared by every adapter.
import type { SpliceResult } from "./types.ts";

type Failure = Exclude<SpliceResult["reason"], "eof">;

export class SpliceTally {
  bytesFromClient = 0;
  bytesToClient = 0;
  /** First failure wins; none means both directions ended cleanly. */
  failure: Failure | null = null;
  readonly done: Promise<SpliceResult>;
  private resolveDone!: (result: SpliceResult) => void;
  private settled = false;

  constructor() {
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
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
    this.resolveDone({
      bytesFromClient: this.bytesFromClient,
      bytesToClient: this.bytesToClient,
      reason: this.failure ?? "eof",
    });
  }
}

// Both ends of one splice on the callback-driven adapters (Bun, Node): settles the tally once both
// sockets are gone. Deno's read-loop adapter tracks directions instead (deno/side.ts).
import type { SpliceTally } from "./splice-tally.ts";

export class SplicePair<S extends { readonly failed: boolean }> {
  private open = 2;
  readonly client: S;
  readonly upstream: S;
  readonly tally: SpliceTally;
  /** How this runtime closes one side at once (a module-level function: nothing allocated per pair). */
  private readonly closeSide: (side: S) => void;
  constructor(
    client: S,
    upstream: S,
    tally: SpliceTally,
    closeSide: (side: S) => void,
  ) {
    this.client = client;
    this.upstream = upstream;
    this.tally = tally;
    this.closeSide = closeSide;
  }

  sideGone(side: S): void {
    if (side.failed && this.tally.fail("error")) this.closeBoth();
    if (--this.open === 0) this.tally.settle();
  }

  closeBoth(): void {
    this.closeSide(this.client);
    this.closeSide(this.upstream);
  }
}

// Change detection for a few small files (config TOML, PEM) by polling their contents: runtime-neutral
// (no fs watchers), and unlike mtime it also sees an edit within the same second or a `mv` over it.

export type ReadFile = (path: string) => Promise<Uint8Array>;

export class FilePoll {
  #last: readonly Uint8Array[] | null = null;

  readonly paths: readonly string[];
  private readonly readFile: ReadFile;
  constructor(paths: readonly string[], readFile: ReadFile) {
    this.paths = paths;
    this.readFile = readFile;
  }

  /** Reads every file: their contents when any differs from the previous poll (the first poll always
   *  counts as a change), else null. A read error rejects and leaves the previous contents in place. */
  async poll(): Promise<Uint8Array[] | null> {
    const now = await Promise.all(this.paths.map((p) => this.readFile(p)));
    const last = this.#last;
    if (last !== null && now.every((bytes, i) => sameBytes(bytes, last[i]!))) return null;
    this.#last = now;
    return now;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

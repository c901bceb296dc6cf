// Last-writer-wins between two versions of one replicated row: the later hybrid-logical-clock stamp
// wins; on equal stamps the higher origin POP id does, so every POP picks the same winner whatever
// order the versions reach it in. Stamps are HLC text (core/hlc.ts), which compares as text.

export interface Stamp {
  readonly hlc: string;
  readonly origin: string;
}

/** < 0 when a is older, > 0 when newer, 0 for the same version. */
export function compareStamps(a: Stamp, b: Stamp): number {
  if (a.hlc !== b.hlc) return a.hlc < b.hlc ? -1 : 1;
  if (a.origin !== b.origin) return a.origin < b.origin ? -1 : 1;
  return 0;
}

export type Merge = "apply" | "keep" | "same";

/** What to do with `incoming` given the stamp held locally (null: never seen the key). */
export function mergeDecision(local: Stamp | null, incoming: Stamp): Merge {
  if (local === null) return "apply";
  const c = compareStamps(incoming, local);
  return c > 0 ? "apply" : c < 0 ? "keep" : "same";
}

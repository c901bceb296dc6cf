// EDGEPROXY_* variables that no setting reads: a misspelled name (EDGEPROXY_LISTEN_ADR) would
// otherwise be ignored without a word while the default applies. Pure: the caller passes the
// environment's names and the known ones (config-variables.ts derives those from the loader).

export interface UnknownVariable {
  readonly name: string;
  /** The known name nearest to it (fewest single-character edits; ties: alphabetical). */
  readonly closest: string | null;
}

export function unknownVariables(names: Iterable<string>, known: readonly string[], prefix = "EDGEPROXY_"): UnknownVariable[] {
  const knownSet = new Set(known);
  const sorted = [...known].sort();
  const out: UnknownVariable[] = [];
  for (const name of [...names].sort()) {
    if (!name.startsWith(prefix) || knownSet.has(name)) continue;
    let closest: string | null = null, best = Infinity;
    for (const k of sorted) {
      const d = editDistance(name, k);
      if (d < best) { best = d; closest = k; }
    }
    out.push({ name, closest });
  }
  return out;
}

/** Levenshtein distance (insert, delete, substitute one character). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row.push(Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    }
    prev = row;
  }
  return prev[b.length]!;
}

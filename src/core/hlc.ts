// Hybrid logical clock (Kulkarni et al.): a stamp that follows wall time but never goes backwards and
// always orders a change after every change its POP had seen. Pure: the wall time is passed in.
//
//   stamp text:  "0001735689600123.000004"   16-digit wall ms "." 6-digit logical counter
//                so comparing two stamps as strings compares them as clocks.

export interface Hlc {
  readonly wallMs: number;
  readonly logical: number;
}

export const ZERO_HLC: Hlc = Object.freeze({ wallMs: 0, logical: 0 });

const MAX_LOGICAL = 999_999;
const STAMP_RE = /^(\d{16})\.(\d{6})$/;

export function formatHlc(h: Hlc): string {
  return `${String(h.wallMs).padStart(16, "0")}.${String(h.logical).padStart(6, "0")}`;
}

/** The stamp, or null when `text` is not one. */
export function parseHlc(text: string): Hlc | null {
  const m = STAMP_RE.exec(text);
  if (m === null) return null;
  return { wallMs: Number(m[1]), logical: Number(m[2]) };
}

export function compareHlc(a: Hlc, b: Hlc): number {
  return a.wallMs - b.wallMs || a.logical - b.logical;
}

/** A counter that would overflow its 6 digits moves the wall part one millisecond ahead instead. */
function bumped(wallMs: number, logical: number): Hlc {
  return logical > MAX_LOGICAL ? { wallMs: wallMs + 1, logical: 0 } : { wallMs, logical };
}

/** The stamp of a local change made at `physicalMs`, after `last` (the newest stamp this POP knows). */
export function nextHlc(last: Hlc, physicalMs: number): Hlc {
  const wall = Math.max(0, Math.floor(physicalMs));
  return wall > last.wallMs ? { wallMs: wall, logical: 0 } : bumped(last.wallMs, last.logical + 1);
}

/** `last` after seeing a remote stamp: the later of the two (local changes then stamp after it). */
export function observeHlc(last: Hlc, remote: Hlc): Hlc {
  return compareHlc(remote, last) > 0 ? remote : last;
}

/**
 * The clock a POP restarts from, strictly after every stamp it may have handed out before it stopped
 * (a crash loses the stamps given in memory only): `persisted` is the clock as last written (every
 * stamp handed out since comes from it or from a change time, and is in the same millisecond or a
 * later one), `newestChangeMs` the newest change time such a stamp can carry (null: none). The next
 * stamp is then in a later millisecond than any of them, so no stamp is given twice.
 */
export function restartHlc(persisted: Hlc, newestChangeMs: number | null): Hlc {
  const past = Math.max(persisted.wallMs, newestChangeMs === null ? 0 : Math.floor(newestChangeMs));
  return { wallMs: past + 1, logical: 0 };
}

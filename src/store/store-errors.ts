// The two ways a store call fails: the store itself (unreadable, locked, closed) or the caller's input.

/** The store could not be opened, read or written: corrupt file, lock held too long, closed handle. */
export class StoreError extends Error {
  readonly code: string | null;
  constructor(message: string, code: string | null = null, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = "StoreError";
  }
}

/**
 * Another connection holds routing.db's lock (SQLITE_BUSY, SQLITE_LOCKED and their extended codes):
 * worth trying again later. Reads the driver's errors and the StoreErrors made of them alike (both
 * carry the driver's `code`; an error without one is known by SQLite's message).
 */
export function isLockBusy(err: unknown): boolean {
  if (err instanceof BackendInputError) return false;
  const e = err as { code?: unknown; message?: unknown } | null;
  if (typeof e?.code === "string" && /^SQLITE_(?:BUSY|LOCKED)/.test(e.code)) return true;
  return /database (?:table )?is locked/i.test(String(e?.message ?? ""));
}

/** A value the caller passed is not acceptable; `field` is the column it belongs to. */
export class BackendInputError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(message);
    this.field = field;
    this.name = "BackendInputError";
  }
}

/** The column a reason from parseBackendRow/checkBackendColumns names ("port: expected …" → "port"). */
export function inputError(reason: string): BackendInputError {
  const colon = reason.indexOf(":");
  return new BackendInputError(colon > 0 ? reason.slice(0, colon) : "backend", reason);
}

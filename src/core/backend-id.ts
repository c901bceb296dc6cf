// The one rule for backend ids, shared by the API body, the CLI arguments and the store rows, so an id
// that one of them accepts is an id every other one can address.

/** The accepted form, as error messages quote it. */
export const BACKEND_ID_FORM = "text of 1-255 characters without control characters or lone surrogates";

export const BACKEND_ID_MAX_LENGTH = 255;

// No control characters (a row stays one line in `db show`), and well-formed Unicode: a lone surrogate
// is stored as U+FFFD, so two different ids could land on the same row. With the `u` flag a surrogate
// pair is one code point and does not match; only a lone half does.
const NOT_PLAIN = /[\u0000-\u001f\u007f\ud800-\udfff]/u;

/** Text an operator can read on one line: no control characters, no lone surrogates. */
export function isPlainText(text: string): boolean {
  return !NOT_PLAIN.test(text);
}

export function isBackendId(value: unknown): value is string {
  return typeof value === "string" && value.length >= 1 && value.length <= BACKEND_ID_MAX_LENGTH && isPlainText(value);
}

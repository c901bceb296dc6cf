// What a setting accepts, once for both of its sources: the environment variable (text) and the config
// file key (a TOML value). Each kind has one accepted form, quoted by every error about it.

export interface SettingKind<T> {
  /** The accepted form, e.g. `an integer from 1 to 100`. */
  readonly form: string;
  /** The accepted form of an environment variable's text, where it is wider than `form`. */
  readonly textForm?: string;
  /** From an environment variable's (trimmed, non-empty) text; undefined when it is not accepted. */
  fromText(raw: string): T | undefined;
  /** From a config file value; undefined when it is not accepted. */
  fromValue(value: unknown): T | undefined;
}

export function integerKind(min: number, max: number, scale = 1): SettingKind<number> {
  const inRange = (n: number) => (Number.isSafeInteger(n) && n >= min && n <= max ? n * scale : undefined);
  return {
    form: `an integer from ${min} to ${max}`,
    fromText: (raw) => (/^[+]?\d+$/.test(raw) ? inRange(Number(raw)) : undefined),
    fromValue: (value) => (typeof value === "number" ? inRange(value) : undefined),
  };
}

/** Whole seconds from 1 to max, held in milliseconds. */
export const secondsKind = (max: number) => integerKind(1, max, 1000);

export const flagKind: SettingKind<boolean> = {
  form: "true or false",
  textForm: "true or false (or 1/0)",
  fromText: (raw) => {
    const v = raw.toLowerCase();
    return v === "true" || v === "1" ? true : v === "false" || v === "0" ? false : undefined;
  },
  fromValue: (value) => (typeof value === "boolean" ? value : undefined),
};

export function oneOfKind<T extends string>(values: readonly T[]): SettingKind<T> {
  const pick = (raw: string) => values.find((v) => v === raw.toLowerCase());
  return {
    form: values.map((v) => JSON.stringify(v)).join(" or "),
    fromText: pick,
    fromValue: (value) => (typeof value === "string" ? pick(value) : undefined),
  };
}

/** Request path of an HTTP health check. */
export const requestPathKind: SettingKind<string> = {
  form: 'a request path starting with "/" (printable ASCII, no spaces)',
  fromText: (raw) => (/^\/[\x21-\x7e]{0,1023}$/.test(raw) ? raw : undefined),
  fromValue: (value) => (typeof value === "string" && /^\/[\x21-\x7e]{0,1023}$/.test(value) ? value : undefined),
};

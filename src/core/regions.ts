// Country → region table of the original edgeProxy (46 countries); unknown countries map to "us".

export const DEFAULT_REGION_FOR_UNKNOWN = "us";

export const COUNTRY_REGIONS: Readonly<Record<string, string>> = Object.freeze({
  BR: "sa", AR: "sa", CL: "sa", PE: "sa", CO: "sa", UY: "sa", PY: "sa", BO: "sa", EC: "sa", VE: "sa",
  US: "us", CA: "us", MX: "us",
  PT: "eu", ES: "eu", FR: "eu", DE: "eu", NL: "eu", IT: "eu", GB: "eu", IE: "eu", BE: "eu", CH: "eu",
  AT: "eu", PL: "eu", CZ: "eu", SE: "eu", NO: "eu", DK: "eu", FI: "eu", RU: "eu", UA: "eu",
  JP: "ap", KR: "ap", TW: "ap", HK: "ap", SG: "ap", MY: "ap", TH: "ap", VN: "ap", ID: "ap", PH: "ap",
  AU: "ap", NZ: "ap", CN: "ap", IN: "ap",
});

/** A country → region lookup, with operator overrides layered over the default table. */
export function regionTable(overrides: Readonly<Record<string, string>> = {}): (country: string) => string {
  const table = new Map<string, string>(Object.entries(COUNTRY_REGIONS));
  for (const [country, region] of Object.entries(overrides)) table.set(country.toUpperCase(), region.toLowerCase());
  return (country) => table.get(country.toUpperCase()) ?? DEFAULT_REGION_FOR_UNKNOWN;
}

/** Two ASCII letters packed into a u16 (0 = no country): the WASM core compares numbers, not strings. */
export function countryCode(country: string | null): number {
  if (country === null || country.length !== 2) return 0;
  const a = country.charCodeAt(0) & 0xdf, b = country.charCodeAt(1) & 0xdf;
  if (a < 65 || a > 90 || b < 65 || b > 90) return 0;
  return (a << 8) | b;
}

// A registration without a country gets the main country of its region, so it still has a country tier;
// an operator-defined region has none (NULL country: region tier only).
const DEFAULT_COUNTRY: Readonly<Record<string, string>> = Object.freeze({ sa: "BR", us: "US", eu: "DE", ap: "JP" });

export function defaultCountry(region: string): string | null {
  return DEFAULT_COUNTRY[region.toLowerCase()] ?? null;
}

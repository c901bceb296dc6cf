// One schema per reloadable setting (settings/reloadable-schema.ts): its variable and its file key accept
// the same values (same ranges), and each error names the variable resp. the file key with one form.
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadConfig, ConfigError } from "../../src/config.ts";
import { parseSettingsFile, SettingsFileError } from "../../src/settings/settings-file.ts";
import { baseSettings } from "../../src/settings/settings.ts";
import { RELOADABLE_TABLES, type SettingSpec } from "../../src/settings/reloadable-schema.ts";

const BASE = baseSettings(loadConfig({}));
const SECTION_FIELD = { rate_limit: "rateLimit", circuit_breaker: "circuit", health_check: "healthCheck" } as const;

/** Sample values per form: accepted ones first, then refused ones (TOML literal, env text). */
function samples(spec: SettingSpec<unknown>): { good: [string, string][]; bad: [string, string][] } {
  const form = spec.kind.form;
  const int = /^an integer from 1 to (\d+)$/.exec(form);
  if (int) {
    const max = Number(int[1]);
    return { good: [["1", "1"], [String(max), String(max)]], bad: [["0", "0"], [String(max + 1), String(max + 1)], ["-1", "-1"], ["1.5", "1.5"], ['"5"', "five"]] };
  }
  if (form === "true or false") return { good: [["true", "true"], ["false", "false"]], bad: [['"yes"', "yes"], ["1.5", "on"]] };
  if (form.includes('"tcp"')) return { good: [['"tcp"', "tcp"], ['"http"', "http"]], bad: [['"udp"', "udp"], ["3", "3"]] };
  return { good: [['"/healthz"', "/healthz"], ['"/a?b=1"', "/a?b=1"]], bad: [['"health"', "health"], ['"/a b"', "/a b"]] };
}

for (const [table, section] of Object.entries(RELOADABLE_TABLES)) {
  for (const [field, spec] of Object.entries(section.fields) as [string, SettingSpec<unknown>][]) {
    test(`${spec.variable} and ${table}.${spec.key} accept and refuse the same values`, () => {
      const { good, bad } = samples(spec);
      const sectionName = SECTION_FIELD[table as keyof typeof SECTION_FIELD];
      for (const [toml, text] of good) {
        const fromEnv = (loadConfig({ [spec.variable]: text }) as unknown as Record<string, Record<string, unknown>>)[sectionName === "healthCheck" ? "health" : sectionName]![field];
        const fromFile = (parseSettingsFile(`[${table}]\n${spec.key} = ${toml}\n`, "/e.toml", BASE) as unknown as Record<string, Record<string, unknown>>)[sectionName]![field];
        assert.deepEqual(fromFile, fromEnv, `${spec.variable}=${text} vs ${table}.${spec.key} = ${toml}`);
      }
      for (const [toml, text] of bad) {
        assert.throws(() => loadConfig({ [spec.variable]: text }), (err: unknown) =>
          err instanceof ConfigError && err.variable === spec.variable && err.message.startsWith(`${spec.variable}: expected ${spec.kind.textForm ?? spec.kind.form}, got `), `${spec.variable}=${text}`);
        assert.throws(() => parseSettingsFile(`[${table}]\n${spec.key} = ${toml}\n`, "/e.toml", BASE), (err: unknown) =>
          err instanceof SettingsFileError && err.key === `${table}.${spec.key}` && err.message.includes(`${table}.${spec.key}: expected ${spec.kind.form}, got `), `${table}.${spec.key} = ${toml}`);
      }
    });
  }
}

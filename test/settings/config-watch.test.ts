import { test } from "node:test";
import assert from "node:assert/strict";
import { ConfigWatch } from "../../src/settings/config-watch.ts";
import { SettingsFileError } from "../../src/settings/settings-file.ts";
import { baseSettings } from "../../src/settings/settings.ts";
import { loadConfig } from "../../src/config.ts";

import type { Logger } from "../../src/lifecycle/log.ts";

const SETTINGS_DEFAULTS = baseSettings(loadConfig({}));

function fakeFiles(initial: Record<string, string>) {
  const files = new Map(Object.entries(initial));
  const readFile = async (path: string) => {
    const text = files.get(path);
    if (text === undefined) throw new Error(`ENOENT: no such file, open '${path}'`);
    return new TextEncoder().encode(text);
  };
  return { files, readFile };
}

function recordingLog() {
  const lines: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];
  const at = (level: string) => (msg: string, fields?: Record<string, unknown>) => void lines.push({ level, msg, fields });
  const log: Logger = { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
  return { log, lines };
}

test("open reads the file over the base; check applies a change once and tells the listeners", async () => {
  const { files, readFile } = fakeFiles({ "/e.toml": "[rate_limit]\nburst = 4\n" });
  const { log, lines } = recordingLog();
  const watch = await ConfigWatch.open("/e.toml", SETTINGS_DEFAULTS, readFile, log);
  assert.equal(watch.settings.current().rateLimit.burst, 4);
  const seen: number[] = [];
  watch.settings.onChange((next, previous) => seen.push(previous.rateLimit.burst, next.rateLimit.burst));

  assert.equal(await watch.check(), false, "unchanged file");
  files.set("/e.toml", "[rate_limit]\nburst = 6\n");
  assert.equal(await watch.check(), true);
  assert.equal(watch.settings.current().rateLimit.burst, 6);
  assert.deepEqual(seen, [4, 6]);
  assert.equal(lines.filter((l) => l.msg === "config reloaded").length, 1);
  assert.equal(await watch.check(), false);
});

test("an invalid or missing file on reload is logged once and the previous settings stay", async () => {
  const { files, readFile } = fakeFiles({ "/e.toml": "[rate_limit]\nburst = 4\n" });
  const { log, lines } = recordingLog();
  const watch = await ConfigWatch.open("/e.toml", SETTINGS_DEFAULTS, readFile, log);
  const before = watch.settings.current();

  files.set("/e.toml", "[rate_limit]\nburst = 0\n");
  assert.equal(await watch.check(), false);
  assert.equal(await watch.check(), false);
  files.delete("/e.toml");
  assert.equal(await watch.check(), false);
  assert.equal(await watch.check(), false);
  assert.equal(watch.settings.current(), before);
  const errors = lines.filter((l) => l.level === "error").map((l) => String(l.fields?.error));
  assert.equal(errors.length, 2, errors.join("\n"));
  assert.match(errors[0]!, /^config file \/e\.toml: rate_limit\.burst: expected an integer/);
  assert.match(errors[1]!, /^config file \/e\.toml: cannot read: ENOENT/);

  files.set("/e.toml", "[rate_limit]\nburst = 8\n");
  assert.equal(await watch.check(), true);
  assert.equal(watch.settings.current().rateLimit.burst, 8);
});

test("open rejects a missing, invalid or non-UTF-8 file with a SettingsFileError", async () => {
  const { log } = recordingLog();
  const { readFile } = fakeFiles({ "/bad.toml": "[circuit_breaker]\ntimeout_secs = 0\n" });
  await assert.rejects(ConfigWatch.open("/none.toml", SETTINGS_DEFAULTS, readFile, log), (err: unknown) => err instanceof SettingsFileError && /cannot read/.test(err.message));
  await assert.rejects(ConfigWatch.open("/bad.toml", SETTINGS_DEFAULTS, readFile, log), /circuit_breaker\.timeout_secs: expected an integer/);
  const binary = async () => new Uint8Array([0xff, 0xfe, 0x00]);
  await assert.rejects(ConfigWatch.open("/bin.toml", SETTINGS_DEFAULTS, binary, log), (err: unknown) => err instanceof SettingsFileError);
});

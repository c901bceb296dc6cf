import { test } from "node:test";
import assert from "node:assert/strict";
import { loadConfig } from "../../src/config.ts";
import { baseSettings, Settings } from "../../src/settings/settings.ts";

import { parseSettingsFile } from "../../src/settings/settings-file.ts";

const SETTINGS_DEFAULTS = baseSettings(loadConfig({}));

test("env variables are the base; the file overrides key by key", () => {
  const base = baseSettings(loadConfig({ EDGEPROXY_RATE_LIMIT_BURST: "7", EDGEPROXY_RATE_LIMIT_ENABLED: "true", EDGEPROXY_CIRCUIT_FAILURE_THRESHOLD: "9" }));
  assert.deepEqual(base.rateLimit, { enabled: true, maxRequests: 100, windowMs: 1000, burst: 7 });
  assert.equal(base.circuit.failureThreshold, 9);
  const s = parseSettingsFile("[rate_limit]\nmax_requests = 3\n[circuit_breaker]\nsuccess_threshold = 4\n", "/e.toml", base);
  assert.deepEqual(s.rateLimit, { enabled: true, maxRequests: 3, windowMs: 1000, burst: 7 });
  assert.deepEqual([s.circuit.failureThreshold, s.circuit.successThreshold], [9, 4]);
  assert.deepEqual(s.healthCheck, SETTINGS_DEFAULTS.healthCheck);
});

test("Settings.replace swaps current() and tells every listener, even after one throws", () => {
  const settings = new Settings(SETTINGS_DEFAULTS);
  const next = { ...SETTINGS_DEFAULTS, rateLimit: { ...SETTINGS_DEFAULTS.rateLimit, burst: 1 } };
  const calls: string[] = [];
  settings.onChange(() => { calls.push("first"); throw new Error("boom"); });
  const off = settings.onChange((n, p) => calls.push(`second ${p.rateLimit.burst}->${n.rateLimit.burst}`));
  assert.throws(() => settings.replace(next), /boom/);
  assert.equal(settings.current(), next);
  assert.deepEqual(calls, ["first", "second 10->1"]);
  off();
  assert.throws(() => settings.replace(SETTINGS_DEFAULTS), /boom/);
  assert.equal(calls.length, 3);
});

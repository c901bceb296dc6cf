import { test } from "node:test";
import assert from "node:assert/strict";
import { parseSettingsFile, SettingsFileError } from "../../src/settings/settings-file.ts";
import { baseSettings } from "../../src/settings/settings.ts";
import { loadConfig } from "../../src/config.ts";

const SETTINGS_DEFAULTS = baseSettings(loadConfig({}));

const FULL = `
[rate_limit]
enabled = true
max_requests = 50
window_secs = 2
burst = 7

[circuit_breaker]
enabled = true
failure_threshold = 4
success_threshold = 2
timeout_secs = 12
half_open_probes = 2

[health_check]
enabled = true
interval_secs = 3
timeout_secs = 1
type = "http"
path = "/healthz"
healthy_threshold = 1
unhealthy_threshold = 5

[backends."sa-node-1"]
weight = 5
soft_limit = 200
hard_limit = 300

[backends.eu-1]
weight = 1
proxy_protocol = "v2"
`;

test("every key of a full file maps onto the settings (seconds become ms)", () => {
  const s = parseSettingsFile(FULL, "/e.toml", SETTINGS_DEFAULTS);
  assert.deepEqual(s.rateLimit, { enabled: true, maxRequests: 50, windowMs: 2000, burst: 7 });
  assert.deepEqual(s.circuit, { enabled: true, failureThreshold: 4, successThreshold: 2, timeoutMs: 12_000, halfOpenProbes: 2 });
  assert.deepEqual(s.healthCheck, { enabled: true, intervalMs: 3000, timeoutMs: 1000, type: "http", path: "/healthz", healthyThreshold: 1, unhealthyThreshold: 5 });
  assert.deepEqual([...s.backends], [["sa-node-1", { weight: 5, softLimit: 200, hardLimit: 300, proxyProtocol: undefined }], ["eu-1", { weight: 1, softLimit: undefined, hardLimit: undefined, proxyProtocol: "v2" }]]);
});

test("keys absent from the file keep the base (env) values; an empty file is the base", () => {
  const base = { ...SETTINGS_DEFAULTS, rateLimit: { enabled: false, maxRequests: 9, windowMs: 9000, burst: 3 } };
  const s = parseSettingsFile("[rate_limit]\nburst = 4\n", "/e.toml", base);
  assert.deepEqual(s.rateLimit, { enabled: false, maxRequests: 9, windowMs: 9000, burst: 4 });
  assert.deepEqual(s.circuit, SETTINGS_DEFAULTS.circuit);
  assert.deepEqual(parseSettingsFile("", "/e.toml", base).rateLimit, base.rateLimit);
});

for (const [text, message] of [
  ["[rate_limit]\nburst = -1", "rate_limit.burst: expected an integer from 1 to 1000000, got -1"],
  ["[rate_limit]\nwindow_secs = 1.5", "rate_limit.window_secs: expected an integer from 1 to 86400, got 1.5"],
  ["[rate_limit]\nenabled = \"yes\"", 'rate_limit.enabled: expected true or false, got "yes"'],
  ["[rate_limit]\nburts = 3", "rate_limit.burts: unknown key (accepted: enabled, max_requests, window_secs, burst)"],
  ["[ratelimit]\nburst = 3", "ratelimit: unknown key (accepted: rate_limit, circuit_breaker, health_check, backends)"],
  ["[health_check]\ntype = \"udp\"", 'health_check.type: expected "tcp" or "http", got "udp"'],
  ["[health_check]\npath = \"health\"", 'health_check.path: expected a request path starting with "/" (printable ASCII, no spaces), got "health"'],
  ["[backends.\"a b\"]\nweight = 0", 'backends."a b".weight: expected an integer from 1 to 1000000, got 0'],
  ["[backends.x]\nsoft_limit = 10\nhard_limit = 5", "backends.x.hard_limit: expected hard_limit >= soft_limit, got 5"],
  ["[backends.x]\nport = 1", "backends.x.port: unknown key (accepted: weight, soft_limit, hard_limit, proxy_protocol)"],
  ["[backends.x]\nproxy_protocol = \"v3\"", 'backends.x.proxy_protocol: expected "off", "v1" or "v2", got "v3"'],
  ["backends = 3", 'backends: expected tables like [backends."sa-node-1"], got 3'],
  ["[rate_limit\nburst = 1", "not valid TOML: "],
] as const) {
  test(`rejected, naming the file and key: ${message}`, () => {
    assert.throws(() => parseSettingsFile(text, "/etc/edge.toml", SETTINGS_DEFAULTS), (err: unknown) => {
      assert.ok(err instanceof SettingsFileError);
      assert.ok(err.message.startsWith(`config file /etc/edge.toml: ${message}`), err.message);
      return true;
    });
  });
}

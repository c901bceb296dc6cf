// EDGEPROXY_METRICS_* and EDGEPROXY_SHUTDOWN_TIMEOUT_SECS: DESIGN.md defaults, parsing, errors naming the variable.
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadConfig, ConfigError } from "../../src/config.ts";

test("defaults follow DESIGN.md", () => {
  const c = loadConfig({});
  assert.deepEqual(c.metrics, { enabled: false, listen: { host: "0.0.0.0", port: 9090 }, path: "/metrics" });
  assert.equal(c.shutdownTimeoutMs, 30_000);
  assert.ok(Object.isFrozen(c.metrics));
});

test("values are parsed", () => {
  const c = loadConfig({
    EDGEPROXY_METRICS_ENABLED: "true", EDGEPROXY_METRICS_LISTEN_ADDR: "127.0.0.1:0", EDGEPROXY_METRICS_PATH: "/internal/prom",
    EDGEPROXY_SHUTDOWN_TIMEOUT_SECS: "0",
  });
  assert.deepEqual(c.metrics, { enabled: true, listen: { host: "127.0.0.1", port: 0 }, path: "/internal/prom" });
  assert.equal(c.shutdownTimeoutMs, 0);
});

for (const [name, value, words] of [
  ["EDGEPROXY_METRICS_ENABLED", "yes", "expected true or false"],
  ["EDGEPROXY_METRICS_LISTEN_ADDR", "9090", "host:port"],
  ["EDGEPROXY_METRICS_PATH", "metrics", 'starting with "/"'],
  ["EDGEPROXY_METRICS_PATH", "/health", "not /health"],
  ["EDGEPROXY_METRICS_PATH", "/", "status page"],
  ["EDGEPROXY_METRICS_PATH", "/status.json", "status page"],
  ["EDGEPROXY_METRICS_PATH", "/a b", 'starting with "/"'],
  ["EDGEPROXY_SHUTDOWN_TIMEOUT_SECS", "-1", "an integer from 0 to 86400"],
  ["EDGEPROXY_SHUTDOWN_TIMEOUT_SECS", "soon", "an integer from 0 to 86400"],
] as const) {
  test(`${name}=${JSON.stringify(value)} is refused naming the variable`, () => {
    assert.throws(() => loadConfig({ [name]: value }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.variable, name);
      assert.ok(err.message.startsWith(`${name}: `) && err.message.includes(words), err.message);
      return true;
    });
  });
}

// EDGEPROXY_HEALTH_* and EDGEPROXY_POOL_*: DESIGN.md defaults, parsing, and errors naming the variable.
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadConfig, ConfigError } from "../../src/config.ts";

test("health check and pool defaults follow DESIGN.md", () => {
  const c = loadConfig({});
  assert.deepEqual(c.health, { enabled: false, intervalMs: 5000, timeoutMs: 2000, type: "tcp", path: "/health", healthyThreshold: 2, unhealthyThreshold: 3 });
  assert.deepEqual(c.pool, { enabled: false, maxPerBackend: 10, idleTimeoutMs: 60_000, maxLifetimeMs: 300_000, connectTimeoutMs: 5000 });
  assert.ok(Object.isFrozen(c.health) && Object.isFrozen(c.pool));
});

test("health check and pool values are parsed", () => {
  const c = loadConfig({
    EDGEPROXY_HEALTH_CHECK_ENABLED: "true", EDGEPROXY_HEALTH_CHECK_INTERVAL_SECS: "1", EDGEPROXY_HEALTH_CHECK_TIMEOUT_SECS: "3",
    EDGEPROXY_HEALTH_CHECK_TYPE: "HTTP", EDGEPROXY_HEALTH_CHECK_PATH: "/ready?deep=1", EDGEPROXY_HEALTH_HEALTHY_THRESHOLD: "1",
    EDGEPROXY_HEALTH_UNHEALTHY_THRESHOLD: "5",
    EDGEPROXY_POOL_ENABLED: "1", EDGEPROXY_POOL_MAX_PER_BACKEND: "4", EDGEPROXY_POOL_IDLE_TIMEOUT_SECS: "30",
    EDGEPROXY_POOL_MAX_LIFETIME_SECS: "90", EDGEPROXY_POOL_CONNECT_TIMEOUT_SECS: "2",
  });
  assert.deepEqual(c.health, { enabled: true, intervalMs: 1000, timeoutMs: 3000, type: "http", path: "/ready?deep=1", healthyThreshold: 1, unhealthyThreshold: 5 });
  assert.deepEqual(c.pool, { enabled: true, maxPerBackend: 4, idleTimeoutMs: 30_000, maxLifetimeMs: 90_000, connectTimeoutMs: 2000 });
});

for (const [name, value, words] of [
  ["EDGEPROXY_HEALTH_CHECK_ENABLED", "yes", "true or false"],
  ["EDGEPROXY_HEALTH_CHECK_INTERVAL_SECS", "0", "an integer from 1 to"],
  ["EDGEPROXY_HEALTH_CHECK_TIMEOUT_SECS", "2s", "an integer from 1 to"],
  ["EDGEPROXY_HEALTH_CHECK_TYPE", "icmp", 'expected "tcp" or "http", got "icmp"'],
  ["EDGEPROXY_HEALTH_CHECK_PATH", "health", 'starting with "/"'],
  ["EDGEPROXY_HEALTH_CHECK_PATH", "/a b", "no spaces"],
  ["EDGEPROXY_HEALTH_HEALTHY_THRESHOLD", "0", "an integer from 1 to"],
  ["EDGEPROXY_HEALTH_UNHEALTHY_THRESHOLD", "101", "an integer from 1 to 100"],
  ["EDGEPROXY_POOL_ENABLED", "on", "true or false"],
  ["EDGEPROXY_POOL_MAX_PER_BACKEND", "0", "positive integer"],
  ["EDGEPROXY_POOL_IDLE_TIMEOUT_SECS", "-1", "positive integer"],
  ["EDGEPROXY_POOL_MAX_LIFETIME_SECS", "x", "positive integer"],
  ["EDGEPROXY_POOL_CONNECT_TIMEOUT_SECS", "601", "at most 600"],
] as const) {
  test(`${name}=${value} is rejected, naming the variable`, () => {
    assert.throws(() => loadConfig({ [name]: value }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.variable, name);
      assert.ok(err.message.startsWith(`${name}: `) && err.message.includes(words), err.message);
      return true;
    });
  });
}

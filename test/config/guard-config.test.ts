// Rate-limit and circuit-breaker variables: DESIGN.md defaults, parsing, errors naming the variable.
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadConfig, ConfigError } from "../../src/config.ts";

test("rate-limit and circuit-breaker defaults follow DESIGN.md", () => {
  const c = loadConfig({});
  assert.deepEqual(c.rateLimit, { enabled: false, maxRequests: 100, windowMs: 1000, burst: 10, maxClients: 65_536 });
  assert.deepEqual(c.circuit, { enabled: false, failureThreshold: 5, successThreshold: 3, timeoutMs: 30_000, halfOpenProbes: 3 });
  assert.ok(Object.isFrozen(c.rateLimit) && Object.isFrozen(c.circuit));
});

test("values are parsed; the half-open probe limit follows the success threshold unless set", () => {
  const c = loadConfig({
    EDGEPROXY_RATE_LIMIT_ENABLED: "true", EDGEPROXY_RATE_LIMIT_MAX_REQUESTS: "1000", EDGEPROXY_RATE_LIMIT_WINDOW_SECS: "60",
    EDGEPROXY_RATE_LIMIT_BURST: "50", EDGEPROXY_RATE_LIMIT_MAX_CLIENTS: "1000000",
    EDGEPROXY_CIRCUIT_BREAKER_ENABLED: "1", EDGEPROXY_CIRCUIT_FAILURE_THRESHOLD: "7", EDGEPROXY_CIRCUIT_SUCCESS_THRESHOLD: "4",
    EDGEPROXY_CIRCUIT_TIMEOUT_SECS: "10",
  });
  assert.deepEqual(c.rateLimit, { enabled: true, maxRequests: 1000, windowMs: 60_000, burst: 50, maxClients: 1_000_000 });
  assert.deepEqual(c.circuit, { enabled: true, failureThreshold: 7, successThreshold: 4, timeoutMs: 10_000, halfOpenProbes: 4 });
  assert.equal(loadConfig({ EDGEPROXY_CIRCUIT_HALF_OPEN_PROBES: "1" }).circuit.halfOpenProbes, 1);
});

for (const [name, value, words] of [
  ["EDGEPROXY_RATE_LIMIT_ENABLED", "on", 'expected true or false (or 1/0), got "on"'],
  ["EDGEPROXY_RATE_LIMIT_MAX_REQUESTS", "0", "an integer from 1 to"],
  ["EDGEPROXY_RATE_LIMIT_WINDOW_SECS", "0.5", "an integer from 1 to"],
  ["EDGEPROXY_RATE_LIMIT_BURST", "0", "an integer from 1 to"],
  ["EDGEPROXY_RATE_LIMIT_MAX_CLIENTS", "8", "an integer from 16 to 16777216"],
  ["EDGEPROXY_CIRCUIT_BREAKER_ENABLED", "maybe", "true or false"],
  ["EDGEPROXY_CIRCUIT_FAILURE_THRESHOLD", "0", "an integer from 1 to"],
  ["EDGEPROXY_CIRCUIT_SUCCESS_THRESHOLD", "100000", "an integer from 1 to 10000"],
  ["EDGEPROXY_CIRCUIT_TIMEOUT_SECS", "thirty", "an integer from 1 to"],
  ["EDGEPROXY_CIRCUIT_HALF_OPEN_PROBES", "-1", "an integer from 1 to"],
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

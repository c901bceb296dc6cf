// EDGEPROXY_TLS_* and EDGEPROXY_CONFIG_* variables.
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadConfig, ConfigError } from "../../src/config.ts";

test("TLS and config-watch defaults follow DESIGN.md", () => {
  const c = loadConfig({});
  assert.deepEqual(c.tls, { enabled: false, listen: { host: "0.0.0.0", port: 8443 }, certPath: null, keyPath: null, handshakeTimeoutMs: 10_000 });
  assert.deepEqual(c.configWatch, { file: null, enabled: false, intervalMs: 5000 });
});

test("TLS and config-watch values are parsed", () => {
  const c = loadConfig({
    EDGEPROXY_TLS_ENABLED: "true", EDGEPROXY_TLS_LISTEN_ADDR: "[::1]:9443", EDGEPROXY_TLS_CERT: "/c.pem", EDGEPROXY_TLS_KEY: "/k.pem",
    EDGEPROXY_TLS_HANDSHAKE_TIMEOUT_SECS: "3", EDGEPROXY_CONFIG_FILE: "/e.toml", EDGEPROXY_CONFIG_WATCH_ENABLED: "1", EDGEPROXY_CONFIG_WATCH_INTERVAL_SECS: "2",
  });
  assert.deepEqual(c.tls, { enabled: true, listen: { host: "::1", port: 9443 }, certPath: "/c.pem", keyPath: "/k.pem", handshakeTimeoutMs: 3000 });
  assert.deepEqual(c.configWatch, { file: "/e.toml", enabled: true, intervalMs: 2000 });
});

for (const [env, name, words] of [
  [{ EDGEPROXY_TLS_ENABLED: "true", EDGEPROXY_TLS_KEY: "/k.pem" }, "EDGEPROXY_TLS_CERT", "required when EDGEPROXY_TLS_ENABLED=true"],
  [{ EDGEPROXY_TLS_ENABLED: "true", EDGEPROXY_TLS_CERT: "/c.pem" }, "EDGEPROXY_TLS_KEY", "required when EDGEPROXY_TLS_ENABLED=true"],
  [{ EDGEPROXY_TLS_ENABLED: "yes" }, "EDGEPROXY_TLS_ENABLED", "expected true or false"],
  [{ EDGEPROXY_TLS_LISTEN_ADDR: "8443" }, "EDGEPROXY_TLS_LISTEN_ADDR", "host:port"],
  [{ EDGEPROXY_TLS_HANDSHAKE_TIMEOUT_SECS: "0" }, "EDGEPROXY_TLS_HANDSHAKE_TIMEOUT_SECS", "positive integer"],
  [{ EDGEPROXY_CONFIG_WATCH_ENABLED: "true" }, "EDGEPROXY_CONFIG_FILE", "required when EDGEPROXY_CONFIG_WATCH_ENABLED=true"],
  [{ EDGEPROXY_CONFIG_WATCH_INTERVAL_SECS: "soon" }, "EDGEPROXY_CONFIG_WATCH_INTERVAL_SECS", "positive integer"],
] as const) {
  test(`${JSON.stringify(env)} is rejected, naming ${name}`, () => {
    assert.throws(() => loadConfig(env), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.variable, name);
      assert.ok(err.message.includes(words), err.message);
      return true;
    });
  });
}

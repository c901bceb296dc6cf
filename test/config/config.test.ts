import { test } from "node:test";
import assert from "node:assert/strict";
import { loadConfig, ConfigError } from "../../src/config.ts";

test("defaults follow DESIGN.md", () => {
  const c = loadConfig({});
  assert.deepEqual(c.listen, { host: "0.0.0.0", port: 8080 });
  assert.equal(c.region, "sa");
  assert.equal(c.dbPath, "routing.db");
  assert.equal(c.dbReloadMs, 5000);
  assert.equal(c.bindingTtlMs, 600_000);
  assert.equal(c.bindingGcIntervalMs, 60_000);
  assert.equal(c.geoipPath, null);
  assert.ok(Object.isFrozen(c));
});

test("values are parsed", () => {
  const c = loadConfig({
    EDGEPROXY_LISTEN_ADDR: "[::]:9000", EDGEPROXY_REGION: "EU", EDGEPROXY_DB_RELOAD_SECS: "2",
    EDGEPROXY_REGION_MAP: "MX=sa, za=eu", EDGEPROXY_GEOIP_PATH: "/x.mmdb", EDGEPROXY_IDLE_TIMEOUT_SECS: "0",
  });
  assert.deepEqual(c.listen, { host: "::", port: 9000 });
  assert.equal(c.region, "eu");
  assert.equal(c.dbReloadMs, 2000);
  assert.deepEqual(c.regionOverrides, { MX: "sa", ZA: "eu" });
  assert.equal(c.geoipPath, "/x.mmdb");
  assert.equal(c.idleTimeoutMs, 0);
});

for (const [name, value, words] of [
  ["EDGEPROXY_DB_RELOAD_SECS", "five", 'expected a positive integer (at most 31536000), got "five"'],
  ["EDGEPROXY_DB_RELOAD_SECS", "0", "positive integer"],
  ["EDGEPROXY_DB_RELOAD_SECS", "1.5", "positive integer"],
  ["EDGEPROXY_BINDING_TTL_SECS", "-3", "positive integer"],
  ["EDGEPROXY_LISTEN_ADDR", "8080", "host:port"],
  ["EDGEPROXY_LISTEN_ADDR", "0.0.0.0:99999", "port 0-65535"],
  ["EDGEPROXY_LISTEN_ADDR", ":::80", "[ipv6]:port"],
  ["EDGEPROXY_REGION", "s a", "region code"],
  ["EDGEPROXY_REGION_MAP", "Mexico=sa", "COUNTRY=region"],
  ["EDGEPROXY_CONNECT_ATTEMPTS", "100", "at most 16"],
  ["EDGEPROXY_LOG_LEVEL", "loud", "one of debug, info, warn, error"],
] as const) {
  test(`${name}=${value} is rejected, naming the variable`, () => {
    assert.throws(() => loadConfig({ [name]: value }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.variable, name);
      assert.ok(err.message.startsWith(`${name}: `), err.message);
      assert.ok(err.message.includes(words), err.message);
      return true;
    });
  });
}

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

// Control plane (auto-discovery API).

const TOKEN = "0123456789abcdef-token";

test("API defaults follow DESIGN.md", () => {
  const c = loadConfig({});
  assert.equal(c.apiEnabled, false);
  assert.deepEqual(c.apiListen, { host: "0.0.0.0", port: 8081 });
  assert.equal(c.heartbeatTtlMs, 60_000);
  assert.equal(c.apiToken, null);
  assert.equal(c.apiInsecure, false);
});

test("API values are parsed", () => {
  const c = loadConfig({
    EDGEPROXY_API_ENABLED: "true", EDGEPROXY_API_LISTEN_ADDR: "127.0.0.1:0", EDGEPROXY_HEARTBEAT_TTL_SECS: "5",
    EDGEPROXY_API_TOKEN: TOKEN, EDGEPROXY_API_INSECURE: "FALSE",
  });
  assert.equal(c.apiEnabled, true);
  assert.deepEqual(c.apiListen, { host: "127.0.0.1", port: 0 });
  assert.equal(c.heartbeatTtlMs, 5000);
  assert.equal(c.apiToken, TOKEN);
  assert.equal(c.apiInsecure, false);
});

for (const [name, value, words] of [
  ["EDGEPROXY_API_ENABLED", "yes", 'expected true or false (or 1/0), got "yes"'],
  ["EDGEPROXY_API_INSECURE", "maybe", "expected true or false"],
  ["EDGEPROXY_API_LISTEN_ADDR", "8081", "host:port"],
  ["EDGEPROXY_HEARTBEAT_TTL_SECS", "0", "positive integer"],
  ["EDGEPROXY_HEARTBEAT_TTL_SECS", "sixty", "positive integer"],
  ["EDGEPROXY_API_TOKEN", "short", "at least 16 printable ASCII characters"],
] as const) {
  test(`${name}=${value} is rejected, naming the variable`, () => {
    assert.throws(() => loadConfig({ [name]: value }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.variable, name);
      assert.ok(err.message.includes(words), err.message);
      return true;
    });
  });
}

test("the token is never echoed in its error", () => {
  assert.throws(() => loadConfig({ EDGEPROXY_API_TOKEN: "has space inside it" }), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.ok(!err.message.includes("has space"), err.message);
    return true;
  });
});

test("an enabled API on a non-loopback address without a token is refused, explaining both ways out", () => {
  for (const addr of [undefined, "0.0.0.0:8081", "[::]:8081", "10.0.0.5:8081"]) {
    assert.throws(() => loadConfig({ EDGEPROXY_API_ENABLED: "true", EDGEPROXY_API_LISTEN_ADDR: addr }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.variable, "EDGEPROXY_API_LISTEN_ADDR");
      assert.match(err.message, /not a loopback address/);
      assert.match(err.message, /set EDGEPROXY_API_TOKEN/);
      assert.match(err.message, /EDGEPROXY_API_INSECURE=true/);
      return true;
    }, String(addr));
  }
});

test("a token, EDGEPROXY_API_INSECURE=true, a loopback address or a disabled API all start", () => {
  assert.equal(loadConfig({ EDGEPROXY_API_ENABLED: "true", EDGEPROXY_API_TOKEN: TOKEN }).apiToken, TOKEN);
  assert.equal(loadConfig({ EDGEPROXY_API_ENABLED: "true", EDGEPROXY_API_INSECURE: "true" }).apiInsecure, true);
  for (const addr of ["127.0.0.1:8081", "127.9.8.7:0", "[::1]:8081", "localhost:8081"]) {
    assert.equal(loadConfig({ EDGEPROXY_API_ENABLED: "true", EDGEPROXY_API_LISTEN_ADDR: addr }).apiEnabled, true, addr);
  }
  assert.equal(loadConfig({ EDGEPROXY_API_LISTEN_ADDR: "0.0.0.0:8081" }).apiEnabled, false);
});

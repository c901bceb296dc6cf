// EDGEPROXY_POSTGRES_*: defaults from DESIGN.md, parsing, and errors that name the variable (and never
// repeat a URL, which may hold a password).
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadConfig, ConfigError } from "../../src/config.ts";

const URL_OK = "postgres://edge:pw@db.internal:5432/routing";

test("defaults follow DESIGN.md; the snapshot file sits next to the db path", () => {
  const c = loadConfig({});
  assert.deepEqual(c.postgres, {
    enabled: false, url: null, maxConnections: 10, minConnections: 2, connectTimeoutMs: 5000, queryTimeoutMs: 10_000,
    reloadMs: 5000, snapshotPath: "routing.db.pg-snapshot.json",
  });
  assert.equal(loadConfig({ EDGEPROXY_DB_PATH: "/var/lib/edgeproxy/r.db" }).postgres.snapshotPath, "/var/lib/edgeproxy/r.db.pg-snapshot.json");
});

test("values are parsed", () => {
  const c = loadConfig({
    EDGEPROXY_POSTGRES_ENABLED: "true", EDGEPROXY_POSTGRES_URL: URL_OK, EDGEPROXY_POSTGRES_MAX_CONNECTIONS: "4",
    EDGEPROXY_POSTGRES_MIN_CONNECTIONS: "0", EDGEPROXY_POSTGRES_CONNECT_TIMEOUT_SECS: "2", EDGEPROXY_POSTGRES_QUERY_TIMEOUT_SECS: "3",
    EDGEPROXY_POSTGRES_RELOAD_SECS: "7", EDGEPROXY_POSTGRES_SNAPSHOT_PATH: "/tmp/snap.json",
  });
  assert.deepEqual(c.postgres, {
    enabled: true, url: URL_OK, maxConnections: 4, minConnections: 0, connectTimeoutMs: 2000, queryTimeoutMs: 3000, reloadMs: 7000, snapshotPath: "/tmp/snap.json",
  });
  assert.ok(Object.isFrozen(c.postgres));
});

for (const [env, variable, words] of [
  [{ EDGEPROXY_POSTGRES_ENABLED: "yes" }, "EDGEPROXY_POSTGRES_ENABLED", "true or false"],
  [{ EDGEPROXY_POSTGRES_ENABLED: "true" }, "EDGEPROXY_POSTGRES_URL", "required when EDGEPROXY_POSTGRES_ENABLED=true"],
  [{ EDGEPROXY_POSTGRES_URL: "mysql://u:hunter2@h/db" }, "EDGEPROXY_POSTGRES_URL", "postgres://user:password@host:5432/database"],
  [{ EDGEPROXY_POSTGRES_URL: "not a url hunter2" }, "EDGEPROXY_POSTGRES_URL", "value not shown"],
  [{ EDGEPROXY_POSTGRES_MAX_CONNECTIONS: "0" }, "EDGEPROXY_POSTGRES_MAX_CONNECTIONS", "positive integer"],
  [{ EDGEPROXY_POSTGRES_MIN_CONNECTIONS: "-1" }, "EDGEPROXY_POSTGRES_MIN_CONNECTIONS", "integer from 0"],
  [{ EDGEPROXY_POSTGRES_MIN_CONNECTIONS: "5", EDGEPROXY_POSTGRES_MAX_CONNECTIONS: "3" }, "EDGEPROXY_POSTGRES_MIN_CONNECTIONS", "at most EDGEPROXY_POSTGRES_MAX_CONNECTIONS (3)"],
  [{ EDGEPROXY_POSTGRES_CONNECT_TIMEOUT_SECS: "0" }, "EDGEPROXY_POSTGRES_CONNECT_TIMEOUT_SECS", "positive integer"],
  [{ EDGEPROXY_POSTGRES_QUERY_TIMEOUT_SECS: "ten" }, "EDGEPROXY_POSTGRES_QUERY_TIMEOUT_SECS", "positive integer"],
  [{ EDGEPROXY_POSTGRES_RELOAD_SECS: "1.5" }, "EDGEPROXY_POSTGRES_RELOAD_SECS", "positive integer"],
] as const) {
  test(`${variable}=${JSON.stringify(Object.values(env).at(-1))} is refused, naming the variable`, () => {
    assert.throws(() => loadConfig(env), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.variable, variable);
      assert.ok(err.message.startsWith(`${variable}: `), err.message);
      assert.ok(err.message.includes(words), err.message);
      assert.doesNotMatch(err.message, /hunter2/, "a URL is never repeated: it may hold a password");
      return true;
    });
  });
}

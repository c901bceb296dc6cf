// EDGEPROXY_REPLICATION_* and EDGEPROXY_POP_ID: off by default (no NATS needed), parsing, the
// credentials rule for a non-loopback server, and errors that name the variable and never a password.
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadConfig, ConfigError } from "../../src/config.ts";

const on = { EDGEPROXY_REPLICATION_ENABLED: "true" };
const fails = (env: Record<string, string>, variable: string, message: RegExp) =>
  assert.throws(() => loadConfig(env, "host-1"), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.variable, variable);
    assert.match(err.message, message);
    return true;
  });

test("off by default; the POP id defaults to the host name", () => {
  const c = loadConfig({}, "edge-fra-1");
  assert.deepEqual(c.replication, { enabled: false, servers: [], user: null, password: null, popId: "edge-fra-1", insecure: false, replicas: 3, bucket: "edgeproxy_routes", tombstoneTtlMs: 7 * 86_400_000 });
  assert.equal(loadConfig({}, "bad host!").replication.popId, "edgeproxy");
});

test("values are parsed: a server list, credentials, pop id, replicas, bucket", () => {
  const c = loadConfig({
    ...on, EDGEPROXY_REPLICATION_NATS_URL: "nats://10.0.0.1:4222, nats-2.internal:4222,[fd00::3]:4222",
    EDGEPROXY_REPLICATION_NATS_USER: "edge", EDGEPROXY_REPLICATION_NATS_PASSWORD: "pw", EDGEPROXY_POP_ID: "fra-1",
    EDGEPROXY_REPLICATION_REPLICAS: "1", EDGEPROXY_REPLICATION_BUCKET: "routes_eu", EDGEPROXY_REPLICATION_TOMBSTONE_TTL_SECS: "3600",
  }, "h");
  assert.deepEqual(c.replication, { enabled: true, servers: ["10.0.0.1:4222", "nats-2.internal:4222", "[fd00::3]:4222"], user: "edge", password: "pw", popId: "fra-1", insecure: false, replicas: 1, bucket: "routes_eu", tombstoneTtlMs: 3_600_000 });
});

test("invalid values stop startup naming the variable", () => {
  fails({ ...on }, "EDGEPROXY_REPLICATION_NATS_URL", /required when EDGEPROXY_REPLICATION_ENABLED=true/);
  fails({ ...on, EDGEPROXY_REPLICATION_NATS_URL: "http://x:1" }, "EDGEPROXY_REPLICATION_NATS_URL", /nats:\/\/host:port, got "http:\/\/x:1"/);
  fails({ ...on, EDGEPROXY_REPLICATION_NATS_URL: "127.0.0.1:4222", EDGEPROXY_POP_ID: "a b" }, "EDGEPROXY_POP_ID", /got "a b"/);
  fails({ ...on, EDGEPROXY_REPLICATION_NATS_URL: "127.0.0.1:4222", EDGEPROXY_REPLICATION_REPLICAS: "7" }, "EDGEPROXY_REPLICATION_REPLICAS", /at most 5/);
  fails({ ...on, EDGEPROXY_REPLICATION_NATS_URL: "127.0.0.1:4222", EDGEPROXY_REPLICATION_INSECURE: "maybe" }, "EDGEPROXY_REPLICATION_INSECURE", /true or false/);
  fails({ ...on, EDGEPROXY_REPLICATION_NATS_URL: "127.0.0.1:4222", EDGEPROXY_REPLICATION_TOMBSTONE_TTL_SECS: "0" }, "EDGEPROXY_REPLICATION_TOMBSTONE_TTL_SECS", /positive integer.*got "0"/);
  fails({ ...on, EDGEPROXY_REPLICATION_NATS_URL: "127.0.0.1:4222", EDGEPROXY_REPLICATION_NATS_USER: "edge" }, "EDGEPROXY_REPLICATION_NATS_PASSWORD", /required when EDGEPROXY_REPLICATION_NATS_USER/);
  fails({ ...on, EDGEPROXY_REPLICATION_NATS_URL: "127.0.0.1:4222", EDGEPROXY_REPLICATION_NATS_PASSWORD: "pw" }, "EDGEPROXY_REPLICATION_NATS_USER", /required when EDGEPROXY_REPLICATION_NATS_PASSWORD/);
});

test("credentials in the URL are refused without repeating them", () => {
  assert.throws(() => loadConfig({ ...on, EDGEPROXY_REPLICATION_NATS_URL: "nats://edge:topsecret@10.0.0.1:4222" }), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.variable, "EDGEPROXY_REPLICATION_NATS_URL");
    assert.doesNotMatch(err.message, /topsecret/);
    return true;
  });
});

test("a non-loopback server without credentials is refused unless EDGEPROXY_REPLICATION_INSECURE=true", () => {
  fails({ ...on, EDGEPROXY_REPLICATION_NATS_URL: "127.0.0.1:4222,nats.example.net:4222" }, "EDGEPROXY_REPLICATION_NATS_USER", /nats\.example\.net:4222 is not a loopback address/);
  assert.equal(loadConfig({ ...on, EDGEPROXY_REPLICATION_NATS_URL: "nats.example.net:4222", EDGEPROXY_REPLICATION_INSECURE: "true" }).replication.insecure, true);
  assert.equal(loadConfig({ ...on, EDGEPROXY_REPLICATION_NATS_URL: "nats://127.0.0.1:4222,localhost:4223,[::1]:4224" }).replication.enabled, true);
  // Off: the variables are still checked for form, but nothing is required.
  assert.equal(loadConfig({ EDGEPROXY_REPLICATION_NATS_URL: "nats.example.net:4222" }).replication.enabled, false);
});

test("with the PostgreSQL store replication is refused with a clear message", () => {
  fails({ ...on, EDGEPROXY_REPLICATION_NATS_URL: "127.0.0.1:4222", EDGEPROXY_POSTGRES_ENABLED: "true", EDGEPROXY_POSTGRES_URL: "postgres://u:p@h:5432/d" }, "EDGEPROXY_REPLICATION_ENABLED", /EDGEPROXY_POSTGRES_ENABLED=true.*one or the other/);
});

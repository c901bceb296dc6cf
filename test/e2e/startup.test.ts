// Starting the real proxy: defaults, bad configuration, a corrupt or legacy routing.db.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { startBackend, whoAnswers } from "../fixtures/backends.ts";
import { tempDir } from "../fixtures/routing-db.ts";
import { startProxy, runToExit } from "../fixtures/proxy-process.ts";
import { createLegacyDb } from "../fixtures/legacy-db.ts";

test("with no routing.db, one is created with its schema and the proxy listens; a misspelled variable is warned about", async () => {
  const tmp = tempDir();
  const path = join(tmp.dir, "routing.db");
  const proxy = await startProxy({ EDGEPROXY_DB_PATH: path, EDGEPROXY_LISTEN_ADR: "127.0.0.1:1" });
  try {
    assert.ok(existsSync(path));
    assert.equal(await whoAnswers(proxy.port), "", "no backend yet: the client is closed cleanly");
    assert.ok(proxy.logs.some((l) => String(l.msg).includes("EDGEPROXY_GEOIP_PATH is not set")), "one clear warning about geo");
    const unknown = proxy.logs.filter((l) => l.variable === "EDGEPROXY_LISTEN_ADR");
    assert.equal(unknown.length, 1, "warned once");
    assert.equal(unknown[0]!.level, "warn");
    assert.equal(unknown[0]!.msg, "unknown variable EDGEPROXY_LISTEN_ADR ignored (did you mean EDGEPROXY_LISTEN_ADDR?)");
  } finally {
    const code = await proxy.stop();
    assert.equal(code, 0, `SIGTERM exits 0, got ${code}; logs:\n${proxy.logs.map((l) => JSON.stringify(l)).join("\n")}`);
    tmp.remove();
  }
});

for (const [name, value] of [
  ["EDGEPROXY_DB_RELOAD_SECS", "five"],
  ["EDGEPROXY_LISTEN_ADDR", "nowhere"],
  ["EDGEPROXY_BINDING_TTL_SECS", "0"],
  ["EDGEPROXY_CONNECT_TIMEOUT_MS", "-1"],
] as const) {
  test(`${name}=${value} stops startup with exit 2 and names the variable`, async () => {
    const { code, stderr } = await runToExit({ [name]: value, EDGEPROXY_DB_PATH: "/nonexistent/never-created.db" });
    assert.equal(code, 2, stderr);
    assert.match(stderr, new RegExp(`${name}: expected`));
  });
}

test("a GeoIP path that is not a MaxMind database stops startup naming the variable", async () => {
  const tmp = tempDir();
  try {
    writeFileSync(join(tmp.dir, "geo.mmdb"), "not a database");
    const { code, stderr } = await runToExit({ EDGEPROXY_DB_PATH: join(tmp.dir, "r.db"), EDGEPROXY_GEOIP_PATH: join(tmp.dir, "geo.mmdb") });
    assert.equal(code, 1, stderr);
    assert.match(stderr, /EDGEPROXY_GEOIP_PATH: .*geo\.mmdb/);
    const missing = await runToExit({ EDGEPROXY_DB_PATH: join(tmp.dir, "r.db"), EDGEPROXY_GEOIP_PATH: join(tmp.dir, "missing.mmdb") });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /EDGEPROXY_GEOIP_PATH: cannot read/);
  } finally {
    tmp.remove();
  }
});

test("a listen address already in use stops startup naming the variable", async () => {
  const tmp = tempDir();
  const first = await startProxy({ EDGEPROXY_DB_PATH: join(tmp.dir, "a.db") });
  try {
    const { code, stderr } = await runToExit({ EDGEPROXY_DB_PATH: join(tmp.dir, "b.db"), EDGEPROXY_LISTEN_ADDR: `127.0.0.1:${first.port}` });
    assert.equal(code, 1, stderr);
    assert.match(stderr, new RegExp(`EDGEPROXY_LISTEN_ADDR: cannot listen on 127\\.0\\.0\\.1:${first.port}`));
  } finally {
    await first.stop();
    tmp.remove();
  }
});

test("a corrupt routing.db stops startup with a clear error", async () => {
  const tmp = tempDir();
  try {
    const path = join(tmp.dir, "routing.db");
    writeFileSync(path, randomBytes(64 * 1024));
    const { code, stderr } = await runToExit({ EDGEPROXY_DB_PATH: path });
    assert.equal(code, 1, stderr);
    assert.match(stderr, /EDGEPROXY_DB_PATH: .*routing\.db/);
  } finally {
    tmp.remove();
  }
});

test("a routing.db in the original tools' shape is migrated in place and routes", async () => {
  const tmp = tempDir();
  const backend = await startBackend("legacy-1");
  const path = join(tmp.dir, "routing.db");
  // Only loopback addresses: the proxy really connects to whatever it picks.
  createLegacyDb(path, [
    ["legacy-1", "myapp", "sa", "127.0.0.1", backend.port, 1, null, null, null, null], // NULLs take defaults
    ["gone", "myapp", "sa", "127.0.0.1", backend.port, 1, 1000, 100, 150, 1], // soft-deleted: never chosen
    ["bad-port", "myapp", "sa", "127.0.0.1", 70000, 1, 1000, 100, 150, 0], // skipped with a log line
  ]);
  const proxy = await startProxy({ EDGEPROXY_DB_PATH: path });
  try {
    for (let i = 0; i < 5; i++) assert.equal(await whoAnswers(proxy.port, `127.0.70.${i + 1}`), "legacy-1");
    const skipped = await proxy.waitForLog("routing row skipped");
    assert.equal(skipped.id, "bad-port");
    assert.match(String(skipped.reason), /port/);
  } finally {
    await proxy.stop();
    await backend.close();
    tmp.remove();
  }
});

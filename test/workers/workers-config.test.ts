// EDGEPROXY_WORKERS: "auto" (default) or a count >= 1; anything else stops startup naming the variable.
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadConfig } from "../../src/config.ts";
import { SettingError } from "../../src/core/setting-error.ts";
import { availableCpus } from "../../src/runtime/reuse-port.ts";

test("EDGEPROXY_WORKERS defaults to auto and takes a count", () => {
  assert.equal(loadConfig({}).workers, "auto");
  assert.equal(loadConfig({ EDGEPROXY_WORKERS: "AUTO" }).workers, "auto");
  assert.equal(loadConfig({ EDGEPROXY_WORKERS: "4" }).workers, 4);
  assert.ok(availableCpus() >= 1);
});

for (const bad of ["0", "-1", "two", "1.5", "1024"]) {
  test(`EDGEPROXY_WORKERS=${bad} is refused, naming the variable`, () => {
    assert.throws(() => loadConfig({ EDGEPROXY_WORKERS: bad }), (err: unknown) => err instanceof SettingError && err.variable === "EDGEPROXY_WORKERS" && err.message.includes(`"${bad}"`));
  });
}

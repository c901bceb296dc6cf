import { test } from "node:test";
import assert from "node:assert/strict";
import { withOverrides } from "../../src/core/backend-overrides.ts";
import type { Backend, RouteSnapshot } from "../../src/core/types.ts";

const backend = (id: string, extra: Partial<Backend> = {}): Backend => ({
  id, app: "", region: "sa", country: "BR", host: "127.0.0.1", port: 9000, healthy: true, weight: 2, softLimit: 100, hardLimit: 150, version: 1, ...extra,
});
const snapshot: RouteSnapshot = { generation: "g1", backends: [backend("a"), backend("b")] };

test("no overrides: the very same snapshot", () => {
  assert.equal(withOverrides(snapshot, new Map()), snapshot);
});

test("an override replaces only the fields it names, only for its backend; the store rows stay", () => {
  const out = withOverrides(snapshot, new Map([["a", { weight: 9 }], ["gone", { weight: 5 }]]));
  assert.deepEqual(out.backends[0], backend("a", { weight: 9 }));
  assert.equal(out.backends[1], snapshot.backends[1]);
  assert.equal(out.generation, "g1");
  assert.equal(snapshot.backends[0]!.weight, 2);
});

test("limits: a soft limit above the stored hard limit raises the hard limit to it", () => {
  const [a] = withOverrides(snapshot, new Map([["a", { softLimit: 400 }]])).backends;
  assert.deepEqual([a!.softLimit, a!.hardLimit], [400, 400]);
  const [b] = withOverrides(snapshot, new Map([["a", { softLimit: 10, hardLimit: 20 }]])).backends;
  assert.deepEqual([b!.softLimit, b!.hardLimit], [10, 20]);
});

test("each backend: the very same object without an override, every field of its override laid over it with one", () => {
  const overrides = new Map([["a", { weight: 9, softLimit: 400 }]]);
  const [a, b] = withOverrides(snapshot, overrides).backends;
  assert.equal(b, snapshot.backends[1]);
  assert.deepEqual(a, backend("a", { weight: 9, softLimit: 400, hardLimit: 400 }));
});

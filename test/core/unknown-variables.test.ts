import { test } from "node:test";
import assert from "node:assert/strict";
import { editDistance, unknownVariables } from "../../src/core/unknown-variables.ts";

const known = ["EDGEPROXY_LISTEN_ADDR", "EDGEPROXY_API_LISTEN_ADDR", "EDGEPROXY_REGION", "EDGEPROXY_REGION_MAP"];

test("an EDGEPROXY_* name no setting reads is reported with the nearest known one", () => {
  assert.deepEqual(unknownVariables(["PATH", "EDGEPROXY_LISTEN_ADR", "EDGEPROXY_REGION", "EDGEPROXY_REGOIN_MAP", "HOME"], known), [
    { name: "EDGEPROXY_LISTEN_ADR", closest: "EDGEPROXY_LISTEN_ADDR" },
    { name: "EDGEPROXY_REGOIN_MAP", closest: "EDGEPROXY_REGION_MAP" },
  ]);
  assert.deepEqual(unknownVariables(["EDGEPROXY_X"], []), [{ name: "EDGEPROXY_X", closest: null }]);
  assert.deepEqual(unknownVariables(["OTHER_LISTEN_ADR"], known), [], "other prefixes are not ours");
});

test("edit distance", () => {
  assert.equal(editDistance("", "abc"), 3);
  assert.equal(editDistance("kitten", "sitting"), 3);
  assert.equal(editDistance("ADR", "ADDR"), 1);
  assert.equal(editDistance("same", "same"), 0);
});

import { test } from "node:test";
import assert from "node:assert/strict";
import { AffinityTable } from "../../src/core/affinity.ts";
import { normalizeClientIp } from "../../src/core/client-ip.ts";

test("a binding is returned until its TTL runs out, and the TTL slides on use", () => {
  const t = new AffinityTable(1000, 10);
  t.bind("1.2.3.4", "a", 3, 0);
  assert.deepEqual({ ...t.lookup("1.2.3.4", 999)! }, { backendId: "a", slot: 3, expiresAt: 1999 });
  assert.equal(t.lookup("1.2.3.4", 1998)?.backendId, "a"); // slid to 1999 above, now to 2998
  assert.equal(t.lookup("1.2.3.4", 2998), undefined); // expiry is exclusive
});

test("an expired binding is never reused, even before gc runs", () => {
  const t = new AffinityTable(100, 10);
  t.bind("c", "a", 0, 0);
  assert.equal(t.lookup("c", 100), undefined);
  assert.equal(t.size, 0);
});

test("gc removes only expired bindings", () => {
  const t = new AffinityTable(100, 10);
  t.bind("old", "a", 0, 0);
  t.bind("new", "b", 1, 50);
  assert.equal(t.gc(120), 1);
  assert.equal(t.lookup("new", 120)?.backendId, "b");
  assert.equal(t.size, 1);
});

test("rebinding replaces the backend; the table is bounded", () => {
  const t = new AffinityTable(1000, 2);
  t.bind("x", "a", 0, 0);
  t.bind("x", "b", 1, 1);
  assert.equal(t.lookup("x", 2)?.slot, 1);
  t.bind("y", "a", 0, 3);
  t.bind("z", "a", 0, 4);
  assert.equal(t.size, 2);
  assert.equal(t.lookup("x", 5), undefined, "the oldest binding was evicted");
});

test("IPv4-mapped IPv6 addresses are the same client as the IPv4 address", () => {
  assert.equal(normalizeClientIp("::ffff:127.0.1.5"), "127.0.1.5");
  assert.equal(normalizeClientIp("::FFFF:10.0.0.1"), "10.0.0.1");
  assert.equal(normalizeClientIp("2001:DB8::1"), "2001:db8::1");
  assert.equal(normalizeClientIp("127.0.0.1"), "127.0.0.1");
});

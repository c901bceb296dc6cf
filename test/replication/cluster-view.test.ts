import { test } from "node:test";
import assert from "node:assert/strict";
import { clusterStatus, clusterTable, expiringPop, FORGET_AFTER_MS, isFresh, newestPerPop, type SeenPresence } from "../../src/core/cluster-view.ts";

const presence = (id: string, seenMs: number, outbox = 0): SeenPresence => ({ value: { id, region: "eu", outbox, lag_ms: 12, applied_revision: 5, interval_ms: 1000 }, seenMs });

test("a POP silent for three presence intervals is down", () => {
  assert.equal(isFresh(presence("a", 10_000), 13_000), true);
  assert.equal(isFresh(presence("a", 10_000), 13_001), false);
});

test("cluster status lists every POP sorted, this one from its live state", () => {
  const s = clusterStatus("pop-b", { value: presence("pop-b", 0, 4).value, linkUp: false }, [presence("pop-c", 9_000), presence("pop-a", 5_000), presence("pop-b", 1)], 10_000);
  assert.equal(s.pop, "pop-b");
  assert.equal(s.link, "down");
  assert.deepEqual(s.pops.map((p) => [p.id, p.link, p.self, p.outbox]), [["pop-a", "down", false, 0], ["pop-b", "down", true, 4], ["pop-c", "up", false, 0]]);
  assert.equal(s.pops[0]!.last_seen_secs_ago, 5);
  assert.equal(s.pops[0]!.lag_secs, 0.012);
  const table = clusterTable(s);
  assert.match(table, /^POP\s+REGION\s+LAST SEEN\s+LINK\s+LAG\s+OUTBOX$/m);
  assert.match(table, /pop-b \(this POP\)\s+eu\s+0s ago\s+down\s+0\.012s\s+4/);
});

test("from outside (the CLI) the POP's own presence decides its link", () => {
  const s = clusterStatus("pop-a", null, [presence("pop-a", 9_500)], 10_000);
  assert.equal(s.link, "up");
  assert.equal(s.pops[0]!.self, true);
});

test("the lowest live POP id expires orphaned registrations", () => {
  assert.equal(expiringPop("pop-b", [presence("pop-a", 9_000), presence("pop-c", 9_000)], 10_000), "pop-a");
  assert.equal(expiringPop("pop-b", [presence("pop-a", 1_000), presence("pop-c", 9_000)], 10_000), "pop-b"); // pop-a is gone
});

test("a POP listed twice (its key rewritten during the listing) is one row, the newest", () => {
  const older = presence("pop-a", 1_000, 7), newer = presence("pop-a", 9_500, 2);
  for (const seen of [[older, newer, presence("pop-b", 9_000)], [newer, presence("pop-b", 9_000), older]]) {
    const s = clusterStatus("pop-b", null, seen, 10_000);
    assert.deepEqual(s.pops.map((p) => [p.id, p.link, p.outbox]), [["pop-a", "up", 2], ["pop-b", "up", 0]]);
  }
  // this POP's own key listed twice from inside the proxy: still one row, from its live state
  const live = clusterStatus("pop-a", { value: presence("pop-a", 0, 3).value, linkUp: true }, [older, newer], 10_000);
  assert.deepEqual(live.pops.map((p) => [p.id, p.outbox, p.self]), [["pop-a", 3, true]]);
});

test("newestPerPop keeps one presence per id, the latest seen", () => {
  const out = newestPerPop([presence("x", 5), presence("y", 1), presence("x", 7), presence("x", 6)]);
  assert.deepEqual(out.map((p) => [p.value.id, p.seenMs]).sort(), [["x", 7], ["y", 1]]);
});

test("a POP that stopped cleanly shows `stopped`, is not alive for the expiring choice, and the table says so", () => {
  const stopped: SeenPresence = { value: { ...presence("pop-a", 0).value, stopped: true }, seenMs: 9_900 };
  assert.equal(isFresh(stopped, 10_000), false);
  assert.equal(expiringPop("pop-b", [stopped], 10_000), "pop-b", "a stopped POP expires nothing");
  const s = clusterStatus("pop-b", null, [stopped, presence("pop-b", 9_900)], 10_000);
  assert.deepEqual(s.pops.map((p) => [p.id, p.link]), [["pop-a", "stopped"], ["pop-b", "up"]]);
  assert.match(clusterTable(s), /^pop-a\s+eu\s+0\.1s ago\s+stopped\s/m);
});

test("a POP not heard from for longer than FORGET_AFTER_MS leaves the list (this POP never does)", () => {
  const now = FORGET_AFTER_MS + 100_000;
  const s = clusterStatus("pop-c", null, [presence("pop-a", 99_999), presence("pop-b", 100_000), presence("pop-c", 0)], now);
  assert.deepEqual(s.pops.map((p) => [p.id, p.link]), [["pop-b", "down"], ["pop-c", "down"]]);
});

import { test } from "node:test";
import assert from "node:assert/strict";
import { compareHlc, formatHlc, nextHlc, observeHlc, parseHlc, restartHlc, ZERO_HLC } from "../../src/core/hlc.ts";
import { compareStamps, mergeDecision } from "../../src/core/lww.ts";

test("HLC follows wall time, never goes back, and counts within one millisecond", () => {
  let h = nextHlc(ZERO_HLC, 1000);
  assert.deepEqual(h, { wallMs: 1000, logical: 0 });
  h = nextHlc(h, 1000);
  assert.deepEqual(h, { wallMs: 1000, logical: 1 });
  h = nextHlc(h, 900); // the wall clock stepped back: the stamp does not
  assert.deepEqual(h, { wallMs: 1000, logical: 2 });
  h = nextHlc(h, 1001);
  assert.deepEqual(h, { wallMs: 1001, logical: 0 });
});

test("HLC after a remote stamp orders local changes after it, even with a slow local clock", () => {
  const remote = { wallMs: 5000, logical: 7 };
  const last = observeHlc({ wallMs: 1000, logical: 0 }, remote);
  const next = nextHlc(last, 1200);
  assert.ok(compareHlc(next, remote) > 0);
  assert.deepEqual(observeHlc(remote, { wallMs: 10, logical: 0 }), remote);
});

test("HLC text compares like the clock and parses back", () => {
  const stamps = [nextHlc(ZERO_HLC, 1), { wallMs: 2, logical: 999_999 }, nextHlc({ wallMs: 2, logical: 999_999 }, 0), { wallMs: 1_735_689_600_123, logical: 4 }];
  assert.deepEqual(nextHlc({ wallMs: 2, logical: 999_999 }, 0), { wallMs: 3, logical: 0 }); // counter overflow moves the wall part
  for (const a of stamps) {
    assert.deepEqual(parseHlc(formatHlc(a)), a);
    for (const b of stamps) assert.equal(Math.sign(compareHlc(a, b)), Math.sign(formatHlc(a).localeCompare(formatHlc(b))));
  }
  assert.equal(formatHlc({ wallMs: 1_735_689_600_123, logical: 4 }), "0001735689600123.000004");
  assert.equal(parseHlc("12.3"), null);
});

test("LWW: later stamp wins, equal stamps are broken by origin POP id, same version is same", () => {
  const a = { hlc: formatHlc({ wallMs: 10, logical: 0 }), origin: "pop-b" };
  const b = { hlc: formatHlc({ wallMs: 10, logical: 1 }), origin: "pop-a" };
  const c = { hlc: formatHlc({ wallMs: 10, logical: 1 }), origin: "pop-c" };
  assert.equal(mergeDecision(null, a), "apply");
  assert.equal(mergeDecision(a, b), "apply");
  assert.equal(mergeDecision(b, a), "keep");
  assert.equal(mergeDecision(b, c), "apply");
  assert.equal(mergeDecision(c, b), "keep");
  assert.equal(mergeDecision(c, { ...c }), "same");
  assert.ok(compareStamps(c, b) > 0);
});

test("LWW: every arrival order of the same versions ends on the same winner", () => {
  const versions = Array.from({ length: 6 }, (_, i) => ({ hlc: formatHlc({ wallMs: 100 + (i % 3), logical: i % 2 }), origin: `pop-${"abc"[i % 3]}` }));
  const winners = new Set<string>();
  for (let seed = 0; seed < 50; seed++) {
    const order = [...versions];
    let r = seed + 1;
    for (let i = order.length - 1; i > 0; i--) { // seeded Fisher-Yates: a different order per seed
      r = (r * 1103515245 + 12345) % 2147483648;
      const j = r % (i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    let held: (typeof versions)[number] | null = null;
    for (const v of order) if (mergeDecision(held, v) === "apply") held = v;
    winners.add(JSON.stringify(held));
  }
  assert.equal(winners.size, 1);
});

test("HLC after a restart: every stamp handed out before (from the persisted clock or a change time) is older than the next one", () => {
  const persisted = { wallMs: 5000, logical: 3 };
  // handed out in memory after the clock was persisted: the same millisecond, or a change's time
  const lost = [nextHlc(persisted, 4000), nextHlc(nextHlc(persisted, 4000), 4000), nextHlc(persisted, 6000), nextHlc(nextHlc(persisted, 6000), 6000)];
  for (const changeMs of [4000, 6000, 6000.7]) {
    const restarted = restartHlc(persisted, Math.max(changeMs, 6000));
    for (const atMs of [0, 4000, 6000, 6001]) {
      const next = nextHlc(restarted, atMs);
      for (const s of lost) assert.ok(compareHlc(next, s) > 0, `${formatHlc(next)} after ${formatHlc(s)}`);
    }
  }
  assert.deepEqual(restartHlc(persisted, null), { wallMs: 5001, logical: 0 });
  assert.deepEqual(restartHlc(ZERO_HLC, 1234.5), { wallMs: 1235, logical: 0 });
});

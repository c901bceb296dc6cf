// The selection policy (src/core/selection.ts), checked on the reference engine and the WASM core alike.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ENGINES, BR, AR, US, DE, SA, NA, EU, spec, acquireTimes } from "./engine-fixtures.ts";

for (const [name, create] of ENGINES) {
  describe(`${name} engine: selection policy`, () => {
    test("tiers: same country, then client region, then this POP's region, then anything", () => {
      const e = create(8);
      e.setSlot(0, spec({ country: DE, region: EU }));
      e.setSlot(1, spec({ country: US, region: NA, local: true }));
      e.setSlot(2, spec({ country: AR, region: SA }));
      e.setSlot(3, spec({ country: BR, region: SA }));
      assert.equal(e.select(BR, SA, 0, 1), 3);
      e.clearSlot(3);
      assert.equal(e.select(BR, SA, 0, 1), 2);
      e.clearSlot(2);
      assert.equal(e.select(BR, SA, 0, 1), 1);
      e.clearSlot(1);
      assert.equal(e.select(BR, SA, 0, 1), 0);
    });

    test("an unknown client (0, 0) gets this POP's region first; country 0 never matches", () => {
      const e = create(4);
      e.setSlot(0, spec({ country: 0, region: EU }));
      e.setSlot(1, spec({ country: US, region: NA, local: true }));
      assert.equal(e.select(0, 0, 0, 1), 1);
      // Out-of-range client codes match nothing either.
      assert.equal(e.select(0x1_0000 + US, 0xffff, 0, 1), 1);
    });

    test("lower load wins within a tier; load is active / soft / weight", () => {
      const e = create(4);
      e.setSlot(0, spec({ softLimit: 10 }));
      e.setSlot(1, spec({ softLimit: 20 }));
      acquireTimes(e, 0, 3); // 0.3
      acquireTimes(e, 1, 5); // 0.25
      assert.equal(e.select(0, SA, 0, 1), 1);
      acquireTimes(e, 1, 2); // 0.35
      assert.equal(e.select(0, SA, 0, 1), 0);
    });

    test("the score is tier * 100 + load: an overloaded same-country backend loses to an idle same-region one", () => {
      const e = create(4);
      e.setSlot(0, spec({ country: BR, softLimit: 1, hardLimit: 1_000 }));
      e.setSlot(1, spec({ country: AR }));
      acquireTimes(e, 0, 99); // score 99 < 100
      assert.equal(e.select(BR, SA, 0, 1), 0);
      acquireTimes(e, 0, 1); // score 100 == 100: a tie, split by weight
      const picks = new Set<number>();
      for (let seed = 1; seed <= 50; seed++) picks.add(e.select(BR, SA, 0, seed));
      assert.deepEqual([...picks].sort(), [0, 1]);
      acquireTimes(e, 0, 151); // score 251 > 100
      assert.equal(e.select(BR, SA, 0, 1), 1);
    });

    test("greedy selection fills backends in proportion to soft limit * weight", () => {
      const e = create(4);
      e.setSlot(0, spec({ weight: 2, softLimit: 10, hardLimit: 100 }));
      e.setSlot(1, spec({ weight: 1, softLimit: 10, hardLimit: 100 }));
      e.setSlot(2, spec({ weight: 1, softLimit: 5, hardLimit: 100 }));
      for (let i = 0; i < 70; i++) assert.ok(e.acquire(e.select(0, SA, 0, i + 1)));
      assert.deepEqual([e.active(0), e.active(1), e.active(2)], [40, 20, 10]);
    });

    test("exact ties split traffic in proportion to weight (3:1 over 20,000 seeds)", () => {
      const e = create(8);
      e.setSlot(2, spec({ weight: 3 }));
      e.setSlot(5, spec({ weight: 1 }));
      let heavy = 0;
      for (let seed = 1; seed <= 20_000; seed++) {
        const slot = e.select(0, SA, 0, seed);
        assert.ok(slot === 2 || slot === 5);
        if (slot === 2) heavy++;
      }
      const share = heavy / 20_000;
      assert.ok(Math.abs(share - 0.75) <= 0.02, `weight-3 share ${share}`);
    });

    test("ties among many slots follow weights too, and equal loads at different limits are ties", () => {
      const e = create(16);
      const weights = [1, 2, 3, 4];
      weights.forEach((weight, i) => e.setSlot(i, spec({ weight, softLimit: 12 / weight, hardLimit: 50 })));
      weights.forEach((_, i) => acquireTimes(e, i, 1)); // load = 1 / 12 everywhere
      const counts = [0, 0, 0, 0];
      for (let seed = 1; seed <= 20_000; seed++) counts[e.select(0, SA, 0, seed)]!++;
      counts.forEach((count, i) => assert.ok(Math.abs(count / 20_000 - weights[i]! / 10) <= 0.02, `slot ${i}: ${count}`));
    });

    test("seed 0 is seed 1", () => {
      const e = create(8);
      for (let i = 0; i < 6; i++) e.setSlot(i, spec({ weight: i + 1 }));
      assert.equal(e.select(0, SA, 0, 0), e.select(0, SA, 0, 1));
    });

    test("a backend at its hard limit is no candidate and cannot be acquired", () => {
      const e = create(4);
      e.setSlot(0, spec({ country: BR, hardLimit: 2 }));
      e.setSlot(1, spec({ country: US, region: NA }));
      acquireTimes(e, 0, 2);
      assert.equal(e.isCandidate(0), false);
      assert.equal(e.acquire(0), false);
      assert.equal(e.active(0), 2);
      assert.equal(e.select(BR, SA, 0, 1), 1);
      e.release(0);
      assert.equal(e.isCandidate(0), true);
      assert.equal(e.select(BR, SA, 0, 1), 0);
    });

    test("hard limit 0 and all-at-limit tables select nothing", () => {
      const e = create(4);
      e.setSlot(0, spec({ hardLimit: 0 }));
      e.setSlot(1, spec({ softLimit: 1, hardLimit: 1 }));
      acquireTimes(e, 1, 1);
      assert.equal(e.select(0, SA, 0, 1), -1);
    });

    test("slots tried by this attempt are skipped; other attempts and attempt 0 see them", () => {
      const e = create(4);
      e.setSlot(0, spec({ country: BR }));
      e.setSlot(1, spec({ country: AR }));
      e.markTried(0, 7);
      assert.equal(e.select(BR, SA, 7, 1), 1);
      assert.equal(e.select(BR, SA, 8, 1), 0);
      assert.equal(e.select(BR, SA, 0, 1), 0);
      e.markTried(1, 7);
      assert.equal(e.select(BR, SA, 7, 1), -1);
      assert.equal(e.isCandidate(0), true); // tried is per attempt, not a candidate property
    });

    test("absent slots: never set, cleared, and their counters", () => {
      const e = create(8);
      assert.equal(e.select(0, 0, 0, 1), -1);
      assert.equal(e.isCandidate(3), false);
      assert.equal(e.acquire(3), false);
      e.setSlot(3, spec());
      acquireTimes(e, 3, 2);
      e.clearSlot(3);
      assert.equal(e.select(0, SA, 0, 1), -1);
      assert.equal(e.isCandidate(3), false);
      assert.equal(e.acquire(3), false);
      assert.equal(e.active(3), 2); // connections opened before the removal still count
      e.release(3);
      e.release(3);
      e.release(3); // an extra release is ignored
      assert.equal(e.active(3), 0);
    });

    test("setSlot rewrites attributes and keeps live counters", () => {
      const e = create(4);
      e.setSlot(0, spec({ hardLimit: 5 }));
      acquireTimes(e, 0, 4);
      e.setSlot(0, spec({ hardLimit: 3 }));
      assert.equal(e.active(0), 4);
      assert.equal(e.isCandidate(0), false);
      e.setSlot(0, spec({ hardLimit: 6 }));
      assert.equal(e.isCandidate(0), true);
    });

    test("unhealthy backends are no candidates; setHealthy overrides without rewriting", () => {
      const e = create(4);
      e.setSlot(0, spec({ country: BR, healthy: false }));
      e.setSlot(1, spec({ country: AR }));
      assert.equal(e.isCandidate(0), false);
      assert.equal(e.select(BR, SA, 0, 1), 1);
      e.setHealthy(0, true);
      assert.equal(e.select(BR, SA, 0, 1), 0);
      e.setHealthy(0, false);
      assert.equal(e.select(BR, SA, 0, 1), 1);
      assert.equal(e.acquire(0), true); // acquire checks presence and the hard limit only
    });

    test("a probed-down backend is no candidate; the mark survives setSlot and ends with clearSlot", () => {
      const e = create(4);
      e.setSlot(0, spec({ country: BR }));
      e.setSlot(1, spec({ country: AR }));
      e.setProbeDown(0, true);
      assert.equal(e.isCandidate(0), false); // the affinity check breaks the binding too
      assert.equal(e.select(BR, SA, 0, 1), 1);
      e.setSlot(0, spec({ country: BR, weight: 3 })); // a snapshot swap rewrites the same backend
      assert.equal(e.isCandidate(0), false);
      e.setHealthy(0, true); // store health does not override the probe
      assert.equal(e.select(BR, SA, 0, 1), 1);
      e.setProbeDown(0, false);
      assert.equal(e.select(BR, SA, 0, 1), 0);
      e.setProbeDown(0, true);
      e.clearSlot(0); // the backend left; a new one in this slot starts unprobed
      e.setSlot(0, spec({ country: BR }));
      assert.equal(e.isCandidate(0), true);
      e.setProbeDown(1, true);
      e.setSlot(0, spec({ country: BR, healthy: false }));
      assert.equal(e.select(BR, SA, 0, 1), -1);
    });

    test("out-of-range slots and specs are rejected with the field named", () => {
      const e = create(4);
      assert.throws(() => e.setSlot(4, spec()), /slot must be an integer in 0\.\.3, got 4/);
      assert.throws(() => e.acquire(-1), RangeError);
      assert.throws(() => e.active(1.5), RangeError);
      assert.throws(() => e.setSlot(0, spec({ weight: 0 })), /weight must be an integer in 1\.\.1000000, got 0/);
      assert.throws(() => e.setSlot(0, spec({ softLimit: 1_000_001 })), /softLimit/);
      assert.throws(() => e.setSlot(0, spec({ hardLimit: 2.5 })), /hardLimit/);
      assert.throws(() => e.setSlot(0, spec({ region: 0 })), /region/);
      assert.throws(() => e.setSlot(0, spec({ country: 0xffff })), /country/);
      assert.equal(e.isCandidate(0), false);
    });

    test("huge weights and limits compare exactly", () => {
      const e = create(4);
      e.setSlot(0, spec({ weight: 1_000_000, softLimit: 1_000_000, hardLimit: 1_000_000 }));
      e.setSlot(1, spec({ weight: 999_999, softLimit: 1_000_000, hardLimit: 1_000_000 }));
      acquireTimes(e, 0, 1_000); // 1000 / 10^12
      acquireTimes(e, 1, 1_000); // 1000 / (10^12 - 10^6): larger
      assert.equal(e.select(0, SA, 0, 1), 0);
      acquireTimes(e, 0, 1); // 1001 / 10^12 > 1000 / (10^12 - 10^6)
      assert.equal(e.select(0, SA, 0, 1), 1);
    });
  });
}

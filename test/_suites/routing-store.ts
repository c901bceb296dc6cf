// The routing store contract, run against every store (libSQL file, PostgreSQL): writes, versions,
// change markers, snapshots, heartbeats, input errors. Called from a few-line file per store.
import { test, describe, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import type { RoutingStore } from "../../src/store/routing-store.ts";
import { BackendInputError, StoreError } from "../../src/store/store-errors.ts";

const BR = { id: "br-1", app: "game", region: "sa", country: "BR", host: "10.0.0.1", port: 7000 } as const;

export interface StoreUnderTest {
  readonly store: RoutingStore;
  /** Removes what open() made (file, schema); the store is already closed. */
  remove(): Promise<void>;
  /** Runs one SQL statement on another connection, as an operator's sqlite3/psql session would. */
  handEdit(sql: string): Promise<void>;
}

/** Opens a fresh, empty store whose changes are stamped with these values. */
export type OpenStore = (options: { source: string; origin: string; now: () => number }) => Promise<StoreUnderTest>;

export function routingStoreSuite(name: string, open: OpenStore, options: { skip?: string | false } = {}): void {
  describe(`routing store contract: ${name}`, { skip: options.skip || false }, () => {
    let store: RoutingStore;
    let opened: StoreUnderTest;
    let clock = 1_000_000;

    beforeEach(async () => {
      clock = 1_000_000;
      opened = await open({ source: "cli", origin: "pop-sa", now: () => clock });
      store = opened.store;
    });
    afterEach(async () => {
      await store.close();
      await opened.remove();
    });

    test("a hard_limit lowered below soft_limit by hand keeps the backend routed, soft limit = hard limit", async () => {
      await store.upsertBackend({ ...BR, softLimit: 100, hardLimit: 150 });
      await store.upsertBackend({ ...BR, id: "br-2" });
      await opened.handEdit("UPDATE backends SET hard_limit = 2 WHERE id = 'br-1'");
      const { snapshot, skipped, adjusted } = await store.readSnapshot();
      assert.deepEqual(skipped, []);
      const b = snapshot.backends.find((x) => x.id === "br-1");
      assert.ok(b, "still in the snapshot");
      assert.equal(b.hardLimit, 2);
      assert.equal(b.softLimit, 2);
      assert.deepEqual(adjusted?.map((a) => [a.id, a.version, a.reasons]), [["br-1", b.version, ["soft_limit: 100 is above hard_limit 2; routed with soft_limit 2"]]]);
      // Input is still held to soft <= hard.
      await assert.rejects(store.setLimits("br-1", 10, 5), (err: unknown) => err instanceof BackendInputError && err.field === "hard_limit");
      await assert.rejects(store.upsertBackend({ ...BR, softLimit: 10, hardLimit: 5 }), (err: unknown) => err instanceof BackendInputError && err.field === "hard_limit");
    });

    test("only rows that cannot be routed are skipped (no address, bad port)", async () => {
      await store.upsertBackend(BR);
      await store.upsertBackend({ ...BR, id: "br-2" });
      await store.upsertBackend({ ...BR, id: "br-3" });
      await opened.handEdit("UPDATE backends SET wg_ip = 'not an address' WHERE id = 'br-2'");
      await opened.handEdit("UPDATE backends SET port = 70000 WHERE id = 'br-3'");
      await opened.handEdit("UPDATE backends SET weight = 0 WHERE id = 'br-1'");
      const { snapshot, skipped } = await store.readSnapshot();
      assert.deepEqual(snapshot.backends.map((b) => [b.id, b.weight]), [["br-1", 1]]);
      assert.deepEqual(skipped.map((s) => s.id).sort(), ["br-2", "br-3"]);
    });

    test("an empty store gives an empty snapshot and a stable marker", async () => {
      const { snapshot, skipped } = await store.readSnapshot();
      assert.deepEqual(snapshot.backends, []);
      assert.deepEqual(skipped, []);
      assert.equal(snapshot.generation, await store.changeMarker());
      assert.equal(await store.changeMarker(), await store.changeMarker());
    });

    test("upsert inserts, then updates; resolves whether the id existed", async () => {
      assert.equal(await store.upsertBackend(BR), false);
      clock += 10;
      assert.equal(await store.upsertBackend({ ...BR, weight: 4, region: "SA", country: "br" }), true);
      const rec = await store.getBackend("br-1");
      assert.ok(rec?.backend);
      assert.deepEqual(rec.backend, { id: "br-1", app: "game", region: "sa", country: "BR", host: "10.0.0.1", port: 7000, healthy: true, weight: 4, softLimit: 100, hardLimit: 150, version: 2 });
      assert.equal(rec.createdAtMs, 1_000_000);
      assert.equal(rec.updatedAtMs, 1_000_010);
      assert.equal(rec.source, "cli");
      assert.equal(rec.origin, "pop-sa");
      assert.equal(rec.deleted, false);
    });

    test("every change bumps the row version by one and moves the change marker", async () => {
      await store.upsertBackend(BR);
      const versions: number[] = [];
      const markers = new Set<string>();
      const steps: (() => Promise<boolean>)[] = [
        () => store.setHealthy("br-1", false),
        () => store.setWeight("br-1", 3),
        () => store.setLimits("br-1", 10, 20),
        () => store.softDelete("br-1"),
        () => store.enable("br-1"),
        () => store.upsertBackend({ ...BR, port: 7001 }),
      ];
      for (const step of steps) {
        assert.equal(await step(), true);
        versions.push((await store.getBackend("br-1"))!.version);
        markers.add(await store.changeMarker());
      }
      assert.deepEqual(versions, [2, 3, 4, 5, 6, 7]);
      assert.equal(markers.size, steps.length);
    });

    test("writes to an unknown id resolve false and change nothing", async () => {
      const before = await store.changeMarker();
      for (const result of [
        await store.setHealthy("nope", true), await store.setWeight("nope", 2), await store.setLimits("nope", 1, 2),
        await store.softDelete("nope"), await store.enable("nope"), await store.deleteBackend("nope"), await store.touchHeartbeat("nope", 5),
      ]) assert.equal(result, false);
      assert.equal(await store.getBackend("nope"), null);
      assert.equal(await store.changeMarker(), before);
    });

    test("bad input is refused with the field named, and nothing is written", async () => {
      await store.upsertBackend(BR);
      const before = await store.changeMarker();
      const cases: [() => Promise<unknown>, string, RegExp][] = [
        [() => store.upsertBackend({ ...BR, id: "x", port: 70000 }), "port", /^port: expected an integer 1-65535, got 70000$/],
        [() => store.upsertBackend({ ...BR, id: "x", country: "BRA" }), "country", /country: expected a 2-letter/],
        [() => store.upsertBackend({ ...BR, id: "x", host: "[::1]" }), "wg_ip", /wg_ip: expected/],
        [() => store.upsertBackend({ ...BR, id: "" }), "id", /id: expected text of 1-255 characters/],
        [() => store.setWeight("br-1", 0), "weight", /weight: expected an integer 1-1000000/],
        [() => store.setWeight("br-1", 1.5), "weight", /got 1\.5/],
        [() => store.setLimits("br-1", 50, 10), "hard_limit", /hard_limit: expected an integer from soft_limit \(50\)/],
        [() => store.setHealthy("br-1", 1 as unknown as boolean), "healthy", /healthy: expected true or false/],
        [() => store.touchHeartbeat("br-1", -5), "nowMs", /nowMs: expected an integer >= 0/],
        [() => store.getBackend(""), "id", /id: expected text of 1-255 characters/],
      ];
      for (const [call, field, message] of cases) {
        await assert.rejects(call(), (err: unknown) => {
          assert.ok(err instanceof BackendInputError, `expected BackendInputError, got ${err}`);
          assert.equal(err.field, field);
          assert.match(err.message, message);
          return true;
        });
      }
      assert.equal(await store.changeMarker(), before);
      assert.equal((await store.getBackend("br-1"))?.backend?.weight, 1);
      assert.equal(await store.getBackend("x"), null);
    });

    test("soft delete hides a row from routing, enable brings it back healthy", async () => {
      await store.upsertBackend(BR);
      await store.setHealthy("br-1", false);
      await store.softDelete("br-1");
      assert.deepEqual((await store.readSnapshot()).snapshot.backends, []);
      assert.deepEqual((await store.listBackends()).map((r) => r.id), []);
      const all = await store.listBackends({ includeDeleted: true });
      assert.deepEqual(all.map((r) => [r.id, r.deleted]), [["br-1", true]]);
      assert.equal(await store.enable("br-1"), true);
      const [b] = (await store.readSnapshot()).snapshot.backends;
      assert.equal(b?.id, "br-1");
      assert.equal(b?.healthy, true);
    });

    test("upsert of a soft-deleted id revives it", async () => {
      await store.upsertBackend(BR);
      await store.softDelete("br-1");
      assert.equal(await store.upsertBackend(BR), true);
      assert.equal((await store.readSnapshot()).snapshot.backends.length, 1);
    });

    test("permanent delete removes the row; a re-added id continues from its last version", async () => {
      await store.upsertBackend(BR);
      await store.setWeight("br-1", 2);
      assert.equal(await store.deleteBackend("br-1"), true);
      assert.equal(await store.getBackend("br-1"), null);
      assert.equal(await store.deleteBackend("br-1"), false);
      await store.upsertBackend(BR);
      // v1 insert, v2 weight, v3 the delete (logged), so the new row must be newer than all of them.
      assert.equal((await store.getBackend("br-1"))?.version, 4);
    });

    test("heartbeats are recorded without a new version or marker (not a routing change)", async () => {
      await store.upsertBackend(BR);
      const marker = await store.changeMarker();
      assert.equal(await store.touchHeartbeat("br-1", 5000), true);
      assert.equal(await store.touchHeartbeat("br-1", 5000), true); // same value again: still no bump
      assert.equal(await store.touchHeartbeat("br-1", 6000), true);
      const rec = await store.getBackend("br-1");
      assert.equal(rec?.lastHeartbeatMs, 6000);
      assert.equal(rec?.version, 1);
      assert.equal(await store.changeMarker(), marker);
      await store.softDelete("br-1");
      assert.equal(await store.touchHeartbeat("br-1", 7000), false, "a deregistered backend must register again");
    });

    test("upsert can record a heartbeat in the same write, without an extra version", async () => {
      await store.upsertBackend({ ...BR, lastHeartbeatMs: 5000 });
      let rec = await store.getBackend("br-1");
      assert.deepEqual([rec?.lastHeartbeatMs, rec?.version], [5000, 1]);
      await store.upsertBackend({ ...BR, lastHeartbeatMs: 6000 });
      rec = await store.getBackend("br-1");
      assert.deepEqual([rec?.lastHeartbeatMs, rec?.version], [6000, 2]);
      await store.upsertBackend(BR); // omitted: left as it is
      assert.equal((await store.getBackend("br-1"))?.lastHeartbeatMs, 6000);
      await store.upsertBackend({ ...BR, lastHeartbeatMs: null }); // static from now on
      assert.equal((await store.getBackend("br-1"))?.lastHeartbeatMs, null);
      await assert.rejects(store.upsertBackend({ ...BR, lastHeartbeatMs: -1 }), { name: "BackendInputError", field: "lastHeartbeatMs" });
    });

    test("expireHeartbeats soft-deletes stale live rows only, and a quiet sweep changes nothing", async () => {
      await store.upsertBackend({ ...BR, id: "stale", lastHeartbeatMs: 1000 });
      await store.upsertBackend({ ...BR, id: "fresh", lastHeartbeatMs: 9000 });
      await store.upsertBackend({ ...BR, id: "static" }); // no heartbeat: never expires
      await store.upsertBackend({ ...BR, id: "gone", lastHeartbeatMs: 1000 });
      await store.softDelete("gone");
      const marker = await store.changeMarker();
      assert.deepEqual(await store.expireHeartbeats(500), []);
      assert.equal(await store.changeMarker(), marker);
      assert.deepEqual(await store.expireHeartbeats(5000), ["stale"]);
      assert.notEqual(await store.changeMarker(), marker);
      assert.deepEqual((await store.readSnapshot()).snapshot.backends.map((b) => b.id), ["fresh", "static"]);
      assert.deepEqual(await store.expireHeartbeats(5000), []);
      await assert.rejects(store.expireHeartbeats(1.5), { name: "BackendInputError", field: "cutoffMs" });
    });

    test("an id that looks like SQL is stored as plain text", async () => {
      const id = "x'; DROP TABLE backends;--";
      assert.equal(await store.upsertBackend({ ...BR, id }), false);
      assert.equal(await store.setWeight(id, 9), true);
      const rec = await store.getBackend(id);
      assert.equal(rec?.id, id);
      assert.equal(rec?.backend?.weight, 9);
      assert.deepEqual((await store.readSnapshot()).snapshot.backends.map((b) => b.id), [id]);
      assert.equal(await store.deleteBackend(id), true);
      assert.deepEqual(await store.listBackends({ includeDeleted: true }), []);
    });

    test("the snapshot is ordered by id and carries each row's version", async () => {
      await store.upsertBackend({ ...BR, id: "b" });
      await store.upsertBackend({ ...BR, id: "a", host: "fd00::1", country: null });
      await store.setWeight("b", 5);
      const { snapshot } = await store.readSnapshot();
      assert.deepEqual(snapshot.backends.map((b) => [b.id, b.version, b.country, b.host]), [["a", 1, null, "fd00::1"], ["b", 2, "BR", "10.0.0.1"]]);
      assert.equal(snapshot.generation, await store.changeMarker());
    });

    test("a closed store rejects with a StoreError", async () => {
      await store.close();
      await store.close(); // twice is fine
      await assert.rejects(store.readSnapshot(), (err: unknown) => err instanceof StoreError && /closed/.test(err.message));
      await assert.rejects(store.changeMarker(), StoreError);
      await assert.rejects(store.upsertBackend(BR), StoreError);
    });
  });
}

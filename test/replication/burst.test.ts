// A burst of separate commits at one POP (another connection holding routing.db's write lock almost
// without a break, as a script or a bulk import does, sometimes for 400 ms) reaches every other POP: the POP meets
// SQLITE_BUSY while recording its stamps and acks and while applying its own publishes coming back,
// and must try again at a later tick instead of dying (an unhandled rejection once ended the POP's
// process with the changes stuck in its outbox).
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import Database from "libsql";
import { tempDir } from "../fixtures/routing-db.ts";
import { natsSkipReason, startNatsCluster, type NatsCluster } from "../fixtures/nats-cluster.ts";
import { startPop, until, type Pop } from "./pops.ts";

const skip = natsSkipReason() ?? false;
const CHANGES = 400;

describe("replication under a burst of commits", { skip }, () => {
  let nats: NatsCluster;
  let dir: { dir: string; remove(): void };
  const pops: Pop[] = [];

  before(async () => {
    dir = tempDir("edgeproxy-repl-burst-");
    nats = await startNatsCluster(3);
    await nats.ready();
    for (const id of ["pop-a", "pop-b", "pop-c"]) pops.push(await startPop(id, dir.dir, nats.urls, undefined, { EDGEPROXY_LOG_LEVEL: "debug" }));
    await Promise.all(pops.map((p) => p.proxy.waitForLog("replication bucket open", 30_000)));
  });

  after(async () => {
    await Promise.all(pops.map((p) => p.proxy.stop()));
    await nats?.close();
    dir?.remove();
  });

  test(`${CHANGES} separate commits at one POP, as fast as sqlite takes them, all reach the other two`, async () => {
    const [a, ...others] = pops as [Pop, Pop, Pop];
    const writer = new Database(a.dbPath);
    try {
      writer.exec("PRAGMA busy_timeout = 5000");
      const insert = writer.prepare("INSERT INTO backends (id, app, region, wg_ip, port, healthy, weight, soft_limit, hard_limit) VALUES (?, 'burst', 'sa', '10.9.0.1', 80, 1, 1, 10, 20)");
      for (let i = 0; i < CHANGES; i++) {
        if (i % 100 === 50) {
          // Now and then one commit holds the write lock for 400 ms, longer than any wait of the POP for it
          // (its write transactions wait 50 ms at most, the ones on the publishing path not at all), as a
          // bulk import does: the POP meets SQLITE_BUSY mid-burst, deterministically.
          writer.exec("BEGIN IMMEDIATE");
          insert.run([`burst-${i}`]);
          const until = Date.now() + 400;
          while (Date.now() < until) { /* holding the lock */ }
          writer.exec("COMMIT");
        } else insert.run([`burst-${i}`]);
      }
    } finally {
      writer.close();
    }
    const count = (pop: Pop) => {
      const db = new Database(pop.dbPath);
      try {
        db.exec("PRAGMA busy_timeout = 5000");
        return Number((db.prepare("SELECT COUNT(*) AS n FROM backends WHERE app = 'burst'").get([]) as { n: number }).n);
      } finally {
        db.close();
      }
    };
    const logs = () => pops.map((p) => `--- ${p.id}\n` + p.proxy.logs.slice(-12).map((l) => JSON.stringify(l)).join("\n")).join("\n");
    await until("every commit of the burst at pop-b and pop-c", () => others.every((p) => count(p) === CHANGES), 60_000, 50)
      .catch((err) => { throw new Error(`${err.message} (pop-b ${count(others[0])}, pop-c ${count(others[1])} of ${CHANGES}); logs:\n${logs()}`); });
    // The publisher kept its POP alive and emptied its outbox.
    await until("pop-a's outbox empty", () => {
      const db = new Database(a.dbPath);
      try {
        return Number((db.prepare("SELECT COUNT(*) AS n FROM replication_outbox").get([]) as { n: number }).n) === 0;
      } finally {
        db.close();
      }
    }, 30_000, 50);
    assert.ok(!a.proxy.logs.some((l) => /database is locked/.test(String(l.msg)) && l.level === undefined), "no uncaught SQLITE_BUSY");
  });
});

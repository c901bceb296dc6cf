// The writer of the lag benchmark, in a worker thread: `count` separate commits (one autocommit INSERT
// each, as fast as sqlite takes them), every row carrying in `app` the time its INSERT was called;
// the time each commit returned is posted back (`committed`): a commit can wait for the write lock
// (the POP records its publishes with it) and that wait happens before the commit, not after it. Its synchronous
// loop holds whichever thread runs it; on the benchmark's main thread it would also hold the
// observers of the other POPs and the TCP relay pop-c's NATS traffic goes through, so no row could be
// seen (or reach pop-c) before the burst ended.
//   workerData: { path, count }   posts { ready } once prepared; on "go" writes, then posts { startMs, burstMs, committed }
import { parentPort, workerData } from "node:worker_threads";
import Database from "libsql";

const { path, count } = workerData;
const writer = new Database(path);
writer.exec("PRAGMA busy_timeout = 5000");
const insert = writer.prepare("INSERT INTO backends (id, app, region, wg_ip, port, healthy, weight, soft_limit, hard_limit) VALUES (?, ?, 'sa', '10.9.0.1', 80, 1, 1, 10, 20)");
parentPort.once("message", () => {
  const startMs = Date.now();
  const committed = new Array(count);
  for (let i = 0; i < count; i++) {
    insert.run([`lag-${i}`, String(Date.now())]);
    committed[i] = Date.now();
  }
  const burstMs = Date.now() - startMs;
  writer.close();
  parentPort.postMessage({ startMs, burstMs, committed });
  parentPort.close();
});
parentPort.postMessage({ ready: true });

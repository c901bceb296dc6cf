// The writer of the lag benchmark, a child process: `count` separate commits (one autocommit INSERT
// each, as fast as sqlite takes them), every row carrying in `app` the time its INSERT was called;
// the time each commit returned is sent back (`committed`): a commit can wait for the write lock
// (the POP records its publishes with it) and that wait happens before the commit, not after it. Its
// synchronous loop holds whichever thread runs it, so it is not the benchmark's main thread (whose
// bookkeeping would wait behind it); a process of its own can also be given a lower CPU priority than
// the POPs (replication.bench.ts WRITER_NICE).
//   argv: path count prefix [rate: commits a second at most, 0 (default) as fast as they go]   sends { ready } once prepared; on "go" writes, then sends { startMs, burstMs, committed, cpuMs } and exits
import Database from "libsql";

const [path, countText, prefix, rateText = "0"] = process.argv.slice(2);
const count = Number(countText);
/** Commits a second at most (0: as fast as sqlite takes them). */
const rate = Number(rateText);
const pause = new Int32Array(new SharedArrayBuffer(4));
const writer = new Database(path);
writer.exec("PRAGMA busy_timeout = 5000");
const insert = writer.prepare("INSERT INTO backends (id, app, region, wg_ip, port, healthy, weight, soft_limit, hard_limit) VALUES (?, ?, 'sa', '10.9.0.1', 80, 1, 1, 10, 20)");
process.once("message", () => {
  const startMs = Date.now();
  const cpuAtStart = process.cpuUsage();
  const committed = new Array(count);
  for (let i = 0; i < count; i++) {
    insert.run([`${prefix}${i}`, String(Date.now())]);
    committed[i] = Date.now();
    if (rate > 0) {
      const due = startMs + ((i + 1) * 1000) / rate;
      if (due > Date.now()) Atomics.wait(pause, 0, 0, due - Date.now()); // a sleep in this synchronous loop
    }
  }
  const burstMs = Date.now() - startMs;
  writer.close();
  const cpu = process.cpuUsage(cpuAtStart); // the burst's, not the start-up's
  process.send({ startMs, burstMs, committed, cpuMs: (cpu.user + cpu.system) / 1000 }, () => process.disconnect());
});
process.send({ ready: true });

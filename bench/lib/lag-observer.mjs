// The lag benchmark's observer of one POP, in a worker thread: looks at the POP's routing.db whenever
// its write-ahead log is written (fs.watch: inotify on Linux; each commit appends to routing.db-wal) and
// every LOOK_MS besides, and notes when each row whose id starts with `prefix` appears, with the time its
// writer called the INSERT (the row's `app`). Event-driven, as a poll every millisecond was not: that
// cost ~140 ms of CPU a second per observer, taken from the machine whose lag it measures. On the
// benchmark's main thread the looks would delay the TCP relay in front of pop-c, which shares that thread.
//   workerData: { path, prefix, count }   posts { ready } once open; posts { seen: [id, seenAtMs, calledAtMs][] }
//   once `count` rows were seen, or at once when sent "stop"
import { parentPort, workerData } from "node:worker_threads";
import Database from "libsql";
import { watch } from "node:fs";

/** A look without a write seen, in case one was missed (a WAL restarted by a checkpoint writes too). */
const LOOK_MS = 20;

const { path, prefix, count } = workerData;
const db = new Database(path);
db.exec("PRAGMA busy_timeout = 5000");
const dataVersion = db.prepare("PRAGMA data_version");
// Only rows inserted since the last look (rowid above the highest seen), never a full scan per commit.
let lastRowid = Number(db.prepare("SELECT COALESCE(MAX(rowid), 0) AS r FROM backends").get([]).r);
const fresh = db.prepare("SELECT rowid AS r, id, app FROM backends WHERE rowid > ? AND id LIKE ? ORDER BY rowid");
const seen = new Map();
let version = -1;
let done = false;
const finish = () => {
  if (done) return;
  done = true;
  clearInterval(timer);
  wal.close();
  db.close();
  parentPort.postMessage({ seen: [...seen].map(([id, [at, called]]) => [id, at, called]) });
  parentPort.close();
};
const look = () => {
  if (done) return;
  const v = Number(dataVersion.get([]).data_version);
  if (v === version) return;
  version = v;
  const now = Date.now();
  for (const row of fresh.all([lastRowid, `${prefix}%`])) {
    lastRowid = Math.max(lastRowid, Number(row.r));
    if (!seen.has(row.id)) seen.set(row.id, [now, Number(row.app)]);
  }
  if (seen.size >= count) finish();
};
// A commit is several writes to the log: one look after each burst of them (the commit is its last write).
let queued = false;
const wal = watch(`${path}-wal`, () => {
  if (queued) return;
  queued = true;
  setImmediate(() => { queued = false; look(); });
});
const timer = setInterval(look, LOOK_MS);
parentPort.once("message", finish);
parentPort.postMessage({ ready: true });

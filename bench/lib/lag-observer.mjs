// The lag benchmark's observer of one POP, in a worker thread that lives for the whole run: looks at the
// POP's routing.db whenever its write-ahead log is written (fs.watch: inotify on Linux; each commit
// appends to routing.db-wal) and every LOOK_MS besides, and notes when each row whose id starts with the
// burst's prefix appears, with the time its writer called the INSERT (the row's `app`). Event-driven, as
// a poll every millisecond was not: that cost ~140 ms of CPU a second per observer, taken from the
// machine whose lag it measures. One thread for every burst, started before the first: a thread started
// per burst spent ~50 ms of CPU starting while the burst it watched ran. On the benchmark's main thread
// the looks would wait behind its bookkeeping.
//   workerData: { path }   posts { ready } once open; then, for each { prefix, count } it is sent, posts
//   { seen: [id, seenAtMs, calledAtMs][] } once `count` rows with that prefix were seen, or at once when
//   sent "stop"; "close" ends the thread
import { parentPort, workerData } from "node:worker_threads";
import Database from "libsql";
import { watch } from "node:fs";

/** A look without a write seen, in case one was missed (a WAL restarted by a checkpoint writes too). */
const LOOK_MS = 20;

const { path } = workerData;
const db = new Database(path);
db.exec("PRAGMA busy_timeout = 5000");
const dataVersion = db.prepare("PRAGMA data_version");
const newest = db.prepare("SELECT COALESCE(MAX(rowid), 0) AS r FROM backends");
// Only rows inserted since the last look (rowid above the highest seen), never a full scan per commit.
const fresh = db.prepare("SELECT rowid AS r, id, app FROM backends WHERE rowid > ? AND id LIKE ? ORDER BY rowid");

/** The burst being watched: null between bursts (a write then costs one callback, no look). */
let burst = null;
let version = -1;
/** When the last look ran: the timer looks only after LOOK_MS without one. */
let lookedAt = 0;

const finish = () => {
  if (burst === null) return;
  const { seen } = burst;
  burst = null;
  parentPort.postMessage({ seen: [...seen].map(([id, [at, called]]) => [id, at, called]) });
};
const look = () => {
  if (burst === null) return;
  lookedAt = Date.now();
  const v = Number(dataVersion.get([]).data_version);
  if (v === version) return;
  version = v;
  const now = Date.now();
  for (const row of fresh.all([burst.lastRowid, `${burst.prefix}%`])) {
    burst.lastRowid = Math.max(burst.lastRowid, Number(row.r));
    if (!burst.seen.has(row.id)) burst.seen.set(row.id, [now, Number(row.app)]);
  }
  if (burst.seen.size >= burst.count) finish();
};
// A commit is several writes to the log: one look after each burst of them (the commit is its last write).
let queued = false;
const wal = watch(`${path}-wal`, () => {
  if (queued || burst === null) return;
  queued = true;
  setImmediate(() => { queued = false; look(); });
});
const timer = setInterval(() => { if (Date.now() - lookedAt >= LOOK_MS) look(); }, LOOK_MS);
parentPort.on("message", (m) => {
  if (m === "stop") return finish();
  if (m === "close") {
    clearInterval(timer);
    wal.close();
    db.close();
    parentPort.close();
    return;
  }
  version = -1;
  burst = { prefix: m.prefix, count: m.count, seen: new Map(), lastRowid: Number(newest.get([]).r) };
  parentPort.postMessage({ watching: true });
});
parentPort.postMessage({ ready: true });

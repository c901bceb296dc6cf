// The lag benchmark's observer of one POP, in a worker thread: polls the POP's routing.db (PRAGMA
// data_version every millisecond) and notes when each row whose id starts with `prefix` appears, with
// the time its writer called the INSERT (the row's `app`). On the benchmark's main thread these polls
// would delay the TCP relay in front of pop-c, which shares that thread, and so the very lag measured.
//   workerData: { path, prefix, count }   posts { ready } once open; posts { seen: [id, seenAtMs, calledAtMs][] }
//   once `count` rows were seen, or at once when sent "stop"
import { parentPort, workerData } from "node:worker_threads";
import Database from "libsql";

const { path, prefix, count } = workerData;
const db = new Database(path);
db.exec("PRAGMA busy_timeout = 5000");
const dataVersion = db.prepare("PRAGMA data_version");
// Only rows inserted since the last look (rowid above the highest seen), never a full scan per commit.
let lastRowid = Number(db.prepare("SELECT COALESCE(MAX(rowid), 0) AS r FROM backends").get([]).r);
const fresh = db.prepare("SELECT rowid AS r, id, app FROM backends WHERE rowid > ? AND id LIKE ? ORDER BY rowid");
const seen = new Map();
let version = -1;
const finish = () => {
  clearInterval(timer);
  db.close();
  parentPort.postMessage({ seen: [...seen].map(([id, [at, called]]) => [id, at, called]) });
  parentPort.close();
};
const timer = setInterval(() => {
  const v = Number(dataVersion.get([]).data_version);
  if (v === version) return;
  version = v;
  const now = Date.now();
  for (const row of fresh.all([lastRowid, `${prefix}%`])) {
    lastRowid = Math.max(lastRowid, Number(row.r));
    if (!seen.has(row.id)) seen.set(row.id, [now, Number(row.app)]);
  }
  if (seen.size >= count) finish();
}, 1);
parentPort.once("message", finish);
parentPort.postMessage({ ready: true });

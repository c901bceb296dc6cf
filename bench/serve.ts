// Starts edgeProxy in front of one benchmark backend with routing fully on: a GeoIP database that
// places the client (127.0.0.1) in BR, a table of backends in several tiers (all pointing at the
// one real backend, so every choice works), affinity and the WASM scoring on every connection.
// Env (as ../shared/bench/run.sh sets it): BACKEND_HOST, BACKEND_PORT, LISTEN_PORT; BENCH_GEOIP_PATH
// uses that database instead (bench/cost.bench.mjs: a City-shaped one with a city per client /24).
import process from "node:process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "libsql";
import { openLibsqlStore } from "../src/store/libsql-store.ts";
import { writeMmdb } from "../test/fixtures/mmdb-writer.ts";

const host = process.env.BACKEND_HOST ?? "127.0.0.1";
const port = Number(process.env.BACKEND_PORT);
const listen = Number(process.env.LISTEN_PORT);
if (!port || !listen) throw new Error("BACKEND_PORT and LISTEN_PORT must be set");

const dir = mkdtempSync(join(tmpdir(), "edgeproxy-bench-"));
const dbPath = join(dir, "routing.db");
(await openLibsqlStore(dbPath, { busyTimeoutMs: 5000 })).close();
const db = new Database(dbPath);
const insert = db.prepare("INSERT INTO backends (id, app, region, country, wg_ip, port, healthy, weight, soft_limit, hard_limit, deleted) VALUES (?, 'bench', ?, ?, ?, ?, 1, ?, 10000, 20000, 0)");
const rows: [string, string, string, number][] = [
  ["br-1", "sa", "BR", 2], ["br-2", "sa", "BR", 1], ["cl-1", "sa", "CL", 1], ["us-1", "us", "US", 2],
  ["eu-1", "eu", "DE", 1], ["eu-2", "eu", "FR", 3], ["ap-1", "ap", "JP", 1], ["ap-2", "ap", "SG", 1],
];
for (const [id, region, country, weight] of rows) insert.run(id, region, country, host, port, weight);
db.close();
let geo = process.env.BENCH_GEOIP_PATH;
if (!geo) {
  geo = join(dir, "geo.mmdb");
  writeFileSync(geo, writeMmdb({ databaseType: "GeoLite2-Country", networks: [{ cidr: "127.0.0.0/8", country: "BR" }] }));
}

Object.assign(process.env, {
  EDGEPROXY_LISTEN_ADDR: `127.0.0.1:${listen}`,
  EDGEPROXY_DB_PATH: dbPath,
  EDGEPROXY_GEOIP_PATH: geo,
  EDGEPROXY_REGION: "sa",
  EDGEPROXY_LOG_LEVEL: process.env.EDGEPROXY_LOG_LEVEL ?? "warn",
});
await import("../src/main.ts");

// The `edgeproxy` CLI as a subprocess against a real routing.db: every subcommand, output formats,
// and bad input (exit 2, one line naming the argument, nothing written).
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { openLibsqlStore, type LibsqlStore } from "../../src/store/libsql-store.ts";
import { openLiveTable } from "../../src/store/live-table.ts";
import { tempDir } from "../fixtures/routing-db.ts";
import { repoRoot } from "../fixtures/runtime.ts";
import { runCli, type CliResult } from "./run-cli.ts";

/** Runs the tasks `width` at a time (CLI processes start slowly). */
async function inBatches<T>(tasks: (() => Promise<T>)[], width: number): Promise<T[]> {
  const out: T[] = new Array(tasks.length);
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < tasks.length) {
      const i = next++;
      out[i] = await tasks[i]!();
    }
  }));
  return out;
}

function ok(r: CliResult): string {
  assert.equal(r.code, 0, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}

describe("edgeproxy node … / db …", () => {
  let tmp: ReturnType<typeof tempDir>;
  let db: string;
  let store: LibsqlStore;
  const cli = (...args: string[]) => runCli(["--db", db, ...args]);
  const row = async (id: string) => (await store.getBackend(id));

  before(async () => {
    tmp = tempDir("edgeproxy-cli-");
    db = join(tmp.dir, "routing.db");
    assert.match(ok(await cli("db", "init")), /routing store ready/);
    store = openLibsqlStore(db);
  });
  after(async () => {
    await store.close();
    tmp.remove();
  });

  test("node add: defaults (app myapp, port 8080, weight 1, limits 100/150), static, source cli", async () => {
    assert.match(ok(await cli("node", "add", "sa-node-1", "sa", "10.50.1.1")), /^added sa-node-1: region sa, 10\.50\.1\.1:8080, weight 1, limits 100\/150$/m);
    const r = await row("sa-node-1");
    assert.deepEqual({ ...r!.backend!, version: 0 }, {
      id: "sa-node-1", app: "myapp", region: "sa", country: null, host: "10.50.1.1", port: 8080, healthy: true, weight: 1, softLimit: 100, hardLimit: 150, version: 0,
    });
    assert.equal(r!.source, "cli");
    assert.equal(r!.lastHeartbeatMs, null, "never expires");
  });

  test("node add with every argument and option; IPv6 in brackets; re-adding updates", async () => {
    ok(await cli("node", "add", "eu-node-1", "EU", "[fd00::5]", "9000", "3", "--app", "game", "--country", "de", "--soft", "10", "--hard", "20"));
    assert.deepEqual({ ...(await row("eu-node-1"))!.backend!, version: 0 }, {
      id: "eu-node-1", app: "game", region: "eu", country: "DE", host: "fd00::5", port: 9000, healthy: true, weight: 3, softLimit: 10, hardLimit: 20, version: 0,
    });
    assert.match(ok(await cli("node", "add", "eu-node-1", "eu", "backend.internal", "9001")), /^updated eu-node-1/);
    assert.equal((await row("eu-node-1"))!.backend!.host, "backend.internal");
    assert.equal((await row("eu-node-1"))!.backend!.softLimit, 100, "add replaces the whole row");
  });

  test("disable, enable, weight, limits, remove (soft), enable again, delete (permanent)", async () => {
    ok(await cli("node", "add", "n1", "us", "10.0.0.1"));
    ok(await cli("node", "disable", "n1"));
    assert.equal((await row("n1"))!.backend!.healthy, false);
    ok(await cli("node", "enable", "n1"));
    assert.equal((await row("n1"))!.backend!.healthy, true);
    assert.match(ok(await cli("node", "weight", "n1", "7")), /n1: weight 7/);
    assert.equal((await row("n1"))!.backend!.weight, 7);
    assert.match(ok(await cli("node", "limits", "n1", "5", "5")), /n1: limits 5\/5/);
    assert.deepEqual([(await row("n1"))!.backend!.softLimit, (await row("n1"))!.backend!.hardLimit], [5, 5]);
    ok(await cli("node", "remove", "n1"));
    assert.equal((await row("n1"))!.deleted, true);
    assert.ok(!(await store.readSnapshot()).snapshot.backends.some((b) => b.id === "n1"), "out of routing");
    ok(await cli("node", "enable", "n1"));
    assert.equal((await row("n1"))!.deleted, false, "enable = healthy and not deleted");
    ok(await cli("node", "delete", "n1"));
    assert.equal(await row("n1"), null);
  });

  test("enable of an API-registered backend says it still needs heartbeats; add makes it static", async () => {
    await store.upsertBackend({ id: "reg-1", region: "sa", host: "10.0.0.7", port: 7, lastHeartbeatMs: 1 });
    await store.softDelete("reg-1"); // as the heartbeat reaper leaves it
    const out = ok(await cli("node", "enable", "reg-1"));
    assert.match(out, /^enabled reg-1/m);
    assert.match(out, /^note: reg-1 was registered through the API.*heartbeats.*node add/m);
    assert.equal((await row("reg-1"))!.deleted, false);
    ok(await cli("node", "add", "reg-1", "sa", "10.0.0.7", "7"));
    assert.equal((await row("reg-1"))!.lastHeartbeatMs, null);
    assert.doesNotMatch(ok(await cli("node", "enable", "reg-1")), /note:/);
    ok(await cli("node", "delete", "reg-1"));
  });

  test("an id full of SQL is just an id", async () => {
    const id = "x'; DROP TABLE backends;--";
    ok(await cli("node", "add", id, "sa", "10.0.0.2"));
    ok(await cli("node", "weight", id, "2"));
    assert.equal((await row(id))!.backend!.weight, 2);
    ok(await cli("node", "delete", id));
    assert.ok((await store.listBackends()).length > 0, "the table is still there");
  });

  test("db show: an aligned table; --json; --all adds soft-deleted rows; db healthy filters", async () => {
    ok(await cli("node", "add", "down-1", "ap", "10.0.0.3"));
    ok(await cli("node", "disable", "down-1"));
    ok(await cli("node", "add", "gone-1", "ap", "10.0.0.4"));
    ok(await cli("node", "remove", "gone-1"));
    const lines = ok(await cli("db", "show")).trimEnd().split("\n");
    const header = lines[0]!;
    for (const column of ["ID", "APP", "REGION", "COUNTRY", "ADDRESS", "HEALTHY", "WEIGHT", "LIMITS", "ACTIVE", "CIRCUIT", "PROBE"]) assert.match(header, new RegExp(`\\b${column}\\b`));
    const at = header.indexOf("ADDRESS");
    for (const line of lines.slice(1)) assert.notEqual(line[at - 1], undefined, line);
    const eu = lines.find((l) => l.startsWith("eu-node-1 "))!;
    assert.equal(eu.indexOf("backend.internal:9001"), at, "columns line up");
    assert.ok(!lines.some((l) => l.startsWith("gone-1")), "soft-deleted rows only with --all");
    assert.match(lines.find((l) => l.startsWith("down-1"))!, /\bno\b/);
    assert.match(ok(await cli("db", "show", "--all")), /^gone-1 .*\bdeleted\b/m);

    const json = JSON.parse(ok(await cli("db", "show", "--json"))) as { id: string; healthy: boolean; live: unknown }[];
    assert.ok(json.some((b) => b.id === "down-1" && b.healthy === false));
    assert.ok(json.every((b) => b.live === null), "no proxy running: no live state");
    const healthy = JSON.parse(ok(await cli("db", "healthy", "--json"))) as { id: string }[];
    assert.ok(healthy.length > 0);
    assert.ok(!healthy.some((b) => b.id === "down-1" || b.id === "gone-1"));
    assert.doesNotMatch(ok(await cli("db", "healthy")), /^down-1/m);
  });

  test("db show includes the running proxy's active connections while its live state is fresh", async () => {
    const live = openLiveTable(db);
    try {
      // Fresh for three intervals: a long interval, so a CLI slow to start on a loaded machine still sees it.
      live.publish([{ id: "sa-node-1", active: 42, circuit: null, probe: "down" }], [], Date.now(), 60_000);
      const line = ok(await cli("db", "show")).split("\n").find((l) => l.startsWith("sa-node-1 "))!;
      assert.match(line, / 42 +- +down /);
      const json = JSON.parse(ok(await cli("db", "show", "--json"))) as { id: string; live: { active: number } | null }[];
      assert.deepEqual(json.find((b) => b.id === "sa-node-1")!.live, { active: 42, circuit: null, probe: "down" });
      assert.deepEqual(json.find((b) => b.id === "eu-node-1")!.live, { active: 0, circuit: null, probe: null });
      live.publish([], [], Date.now() - 60_000, 1000); // the proxy stopped stamping a minute ago
      const stale = JSON.parse(ok(await cli("db", "show", "--json"))) as { live: unknown }[];
      assert.ok(stale.every((b) => b.live === null), "stale live state is not shown");
    } finally {
      live.clear();
      live.close();
    }
  });

  const bad: [string[], string][] = [
    [["node", "add", "a", "south america", "10.0.0.1"], "region"],
    [["node", "add", "a", "sa", "10.0.0.256"], "ip"],
    [["node", "add", "a", "sa", "not a host"], "ip"],
    [["node", "add", "a", "sa", "10.0.0.1", "0"], "port"],
    [["node", "add", "a", "sa", "10.0.0.1", "80x"], "port"],
    [["node", "add", "a", "sa", "10.0.0.1", "80", "0"], "weight"],
    [["node", "add", "a", "sa", "10.0.0.1", "--country", "BRA"], "--country"],
    [["node", "add", "a", "sa", "10.0.0.1", "--soft", "200", "--hard", "100"], "--hard"],
    [["node", "add", "a", "sa", "10.0.0.1", "--soft", "0"], "--soft"],
    [["node", "add", "", "sa", "10.0.0.1"], "id"],
    [["node", "add", "a\nb", "sa", "10.0.0.1"], "id"],
    [["node", "add", "a", "sa"], "ip"],
    [["node", "add", "a", "sa", "10.0.0.1", "80", "1", "extra"], "too many arguments"],
    [["node", "add", "a", "sa", "10.0.0.1", "--bogus"], "--bogus"],
    [["node", "weight", "sa-node-1", "0"], "weight"],
    [["node", "limits", "sa-node-1", "20", "10"], "hard"],
    [["node", "limits", "sa-node-1", "x", "10"], "soft"],
    [["node", "weight", "no-such-id", "2"], "id"],
    [["node", "remove", "no-such-id"], "id"],
    [["node", "enable", "no-such-id"], "id"],
    [["node", "frobnicate"], "frobnicate"],
  ];
  test("bad input: exit 2, one line naming the argument, nothing written", async () => {
    const before = await store.changeMarker();
    const results = await inBatches(bad.map(([args]) => () => cli(...args)), 4);
    results.forEach((r, i) => {
      const [args, argument] = bad[i]!;
      const what = `${JSON.stringify(args)}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
      assert.equal(r.code, 2, what);
      const message = r.stderr.trimEnd();
      assert.equal(message.split("\n").length, 1, what);
      assert.ok(message.includes(argument), what);
      assert.equal(r.stdout, "", what);
    });
    assert.equal(await store.changeMarker(), before, "nothing written");
  });

  test("read-only commands on a missing routing.db exit 2 and create nothing", async () => {
    const missing = join(tmp.dir, "missing.db");
    for (const args of [["db", "show"], ["db", "healthy"], ["node", "remove", "x"]]) {
      const r = await runCli(["--db", missing, ...args]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /--db: no routing store at/);
    }
    assert.equal(existsSync(missing), false);
  });

  test("EDGEPROXY_DB_PATH is the default store", async () => {
    const r = await runCli(["db", "healthy", "--json"], { EDGEPROXY_DB_PATH: db });
    assert.ok((JSON.parse(ok(r)) as unknown[]).length > 0);
  });
});

test("--help on every command and subcommand", async () => {
  const commands = [[], ["serve"], ["node"], ["node", "add"], ["node", "remove"], ["node", "delete"], ["node", "enable"], ["node", "disable"], ["node", "weight"], ["node", "limits"], ["db"], ["db", "init"], ["db", "show"], ["db", "healthy"]];
  const results = await inBatches(commands.map((c) => () => runCli([...c, "--help"])), 4);
  results.forEach((r, i) => {
    assert.equal(r.code, 0, `${commands[i]!.join(" ")}: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`Usage: edgeproxy ${commands[i]!.join(" ")}`.trimEnd()));
    assert.match(r.stdout, /--db <path>/, `${commands[i]!.join(" ")} --help names --db`);
  });
  const version = await runCli(["--version"]);
  assert.equal(version.stdout.trim(), JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")).version);
});

test("the original command names exist as npm scripts and deno tasks", () => {
  const scripts = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")).scripts as Record<string, string>;
  const tasks = JSON.parse(readFileSync(join(repoRoot, "deno.json"), "utf8")).tasks as Record<string, string>;
  for (const name of ["node-add", "node-remove", "node-delete", "node-enable", "node-disable", "node-weight", "node-limits", "db-show", "db-healthy"]) {
    const sub = name.replace("-", " ");
    assert.ok(scripts[name]?.endsWith(`src/cli/main.ts ${sub}`), `npm run ${name}: ${scripts[name]}`);
    assert.ok(tasks[name]?.endsWith(`src/cli/main.ts ${sub}`), `deno task ${name}: ${tasks[name]}`);
  }
});

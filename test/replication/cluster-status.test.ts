// `edgeproxy cluster status|forget` against a private NATS server, as an operator meets them:
//   - replication off: the error says so (not "set the NATS URL");
//   - no POP has replicated yet: the error says so (not "check the bucket variable");
//   - a POP that stopped cleanly is shown `stopped` (not `down` forever), and `cluster forget`
//     removes it (refused while it is up).
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { tempDir } from "../fixtures/routing-db.ts";
import { NATS_PASSWORD, NATS_USER, natsSkipReason, startNatsCluster, type NatsCluster } from "../fixtures/nats-cluster.ts";
import { runCli } from "../cli/run-cli.ts";
import { startPop, until } from "./pops.ts";
import type { ClusterStatus } from "../../src/core/cluster-view.ts";

const skip = natsSkipReason() ?? false;

test("cluster status with replication off says replication is off", async () => {
  const cli = await runCli(["cluster", "status"], { EDGEPROXY_REPLICATION_ENABLED: "", EDGEPROXY_REPLICATION_NATS_URL: "" });
  assert.equal(cli.code, 2, cli.stderr);
  assert.match(cli.stderr, /^error: EDGEPROXY_REPLICATION_ENABLED: replication is off/m);
});

describe("cluster status and forget against NATS", { skip }, () => {
  let nats: NatsCluster;
  const dir = tempDir("edgeproxy-cluster-status-");
  const extraEnv = { EDGEPROXY_REPLICATION_REPLICAS: "1", EDGEPROXY_HEARTBEAT_TTL_SECS: "2" };
  const cliEnv = (bucket: string) => ({
    EDGEPROXY_REPLICATION_ENABLED: "true", EDGEPROXY_REPLICATION_NATS_URL: nats.urls, EDGEPROXY_POP_ID: "operator",
    EDGEPROXY_REPLICATION_NATS_USER: NATS_USER, EDGEPROXY_REPLICATION_NATS_PASSWORD: NATS_PASSWORD, EDGEPROXY_REPLICATION_BUCKET: bucket,
  });
  const status = async (bucket: string): Promise<ClusterStatus> => {
    const cli = await runCli(["cluster", "status", "--json"], cliEnv(bucket));
    assert.equal(cli.code, 0, cli.stderr);
    return JSON.parse(cli.stdout) as ClusterStatus;
  };

  before(async () => {
    nats = await startNatsCluster(1);
    await nats.ready();
  });
  after(async () => {
    await nats?.close();
    dir.remove();
  });

  test("before any POP replicated: the bucket does not exist yet, and the error says that", async () => {
    const cli = await runCli(["cluster", "status"], cliEnv("nobody_here"));
    assert.equal(cli.code, 1, cli.stderr);
    assert.match(cli.stderr, /^error: no POP has replicated through bucket nobody_here yet/m);
    assert.doesNotMatch(cli.stderr, /^error: EDGEPROXY_REPLICATION_BUCKET/m);
  });

  test("a cleanly stopped POP is `stopped`; forget is refused while it is up, then removes it", async () => {
    const bucket = "stops";
    const pop = await startPop("pop-s", dir.dir, nats.urls, undefined, { ...extraEnv, EDGEPROXY_REPLICATION_BUCKET: bucket });
    let stopped = false;
    try {
      await until("pop-s up in cluster status", async () => (await status(bucket)).pops.some((p) => p.id === "pop-s" && p.link === "up"), 30_000, 250);
      const refused = await runCli(["cluster", "forget", "pop-s"], cliEnv(bucket));
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /POP "pop-s" is up/);

      assert.equal(await pop.proxy.stop("SIGTERM"), 0);
      stopped = true;
      const row = (await status(bucket)).pops.find((p) => p.id === "pop-s");
      assert.equal(row?.link, "stopped", JSON.stringify(row));
      const table = await runCli(["cluster", "status"], cliEnv(bucket));
      assert.match(table.stdout, /^pop-s\s+sa\s+\S+ ago\s+stopped\s/m);

      const forget = await runCli(["cluster", "forget", "pop-s"], cliEnv(bucket));
      assert.equal(forget.code, 0, forget.stderr);
      assert.deepEqual((await status(bucket)).pops.map((p) => p.id), []);
      const again = await runCli(["cluster", "forget", "pop-s"], cliEnv(bucket));
      assert.equal(again.code, 1);
      assert.match(again.stderr, /no POP "pop-s"/);
    } finally {
      if (!stopped) await pop.proxy.stop();
    }
  });
});

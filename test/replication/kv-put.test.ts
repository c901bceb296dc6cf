// Compare-and-set puts on one reply subscription (src/replication/kv-put.ts) against a private
// nats-server: what the KV client reads back, refusals by revision, a bucket that is not there, a
// stream that never answers, and a closed putter.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstream } from "@nats-io/jetstream";
import { Kvm, type KV } from "@nats-io/kv";
import { KvPutError, KvPutter, parseAnswer } from "../../src/replication/kv-put.ts";
import { isWrongRevision } from "../../src/replication/nats-sweep-bucket.ts";
import { NATS_PASSWORD, NATS_USER, natsSkipReason, startNatsCluster, type NatsCluster } from "../fixtures/nats-cluster.ts";

const text = (s: string) => new TextEncoder().encode(s);

test("a publish acknowledgement gives the revision; refusals and status messages give why", () => {
  assert.equal(parseAnswer(text('{"stream":"KV_edge","seq":42}'), 0), 42);
  const refused = parseAnswer(text('{"error":{"code":400,"err_code":10071,"description":"wrong last sequence: 3"}}'), 0);
  assert.ok(refused instanceof KvPutError && refused.errCode === 10071 && isWrongRevision(refused));
  const noStream = parseAnswer(new Uint8Array(0), 503);
  assert.ok(noStream instanceof KvPutError && /no responders/.test(noStream.message) && !isWrongRevision(noStream));
  assert.ok(parseAnswer(text("not json"), 0) instanceof KvPutError);
  assert.ok(parseAnswer(text('{"stream":"KV_edge"}'), 0) instanceof KvPutError);
});

describe("KvPutter on a private NATS server", { skip: natsSkipReason() ?? false }, () => {
  let nats: NatsCluster;
  let nc: NatsConnection;
  let kv: KV;
  before(async () => {
    nats = await startNatsCluster(1);
    await nats.ready();
    nc = await connect({ servers: nats.urls.split(","), user: NATS_USER, pass: NATS_PASSWORD });
    kv = await new Kvm(jetstream(nc)).create("edge", { history: 1 });
  });
  after(async () => {
    await nc?.close();
    await nats?.close();
  });

  test("creates and updates by revision, as the KV client reads them; a wrong revision is refused and changes nothing", async () => {
    const putter = new KvPutter(nc, "edge", 5000);
    try {
      const first = await putter.put("b.k1", "one", 0);
      assert.equal((await kv.get("b.k1"))?.revision, first);
      const second = await putter.put("b.k1", "two", first);
      assert.ok(second > first);
      await assert.rejects(putter.put("b.k1", "stale", first), (err) => isWrongRevision(err));
      await assert.rejects(putter.put("b.k1", "again", 0), (err) => isWrongRevision(err), "create of a key that holds a value");
      const now = await kv.get("b.k1");
      assert.equal(now?.string(), "two");
      assert.equal(now?.revision, second);
      // Many at once, each answered to its own put.
      const revisions = await Promise.all(Array.from({ length: 300 }, (_, i) => putter.put(`b.m${i}`, `v${i}`, 0)));
      assert.equal(new Set(revisions).size, 300);
      for (const i of [0, 150, 299]) assert.equal((await kv.get(`b.m${i}`))?.revision, revisions[i]);
      assert.equal(putter.waiting, 0);
    } finally {
      putter.close();
    }
  });

  test("a bucket that does not exist is refused at once (no responders), not left waiting", async () => {
    const putter = new KvPutter(nc, "no_such_bucket", 60_000);
    try {
      await assert.rejects(putter.put("b.k", "x", 0), /no responders/);
      assert.equal(putter.waiting, 0);
    } finally {
      putter.close();
    }
  });

  test("a put nobody answers fails after the timeout; closing rejects what still waits", async () => {
    // A subscriber that swallows the publish stands in for a stream that never acknowledges.
    const silent = nc.subscribe("$KV.silent.>");
    try {
      const putter = new KvPutter(nc, "silent", 300);
      await assert.rejects(putter.put("b.k", "x", 0), /no answer from JetStream within 300 ms/);
      const waiting = putter.put("b.k", "y", 0);
      putter.close();
      await assert.rejects(waiting, /closed/);
      await assert.rejects(putter.put("b.k", "z", 0), /closed/, "a put after close() fails at once, never left waiting");
    } finally {
      silent.unsubscribe();
    }
  });
});

// Concurrent differential tests: several threads, each with its own engine instance attached to one
// shared memory, hammer the shared tables at once (phases start together at a barrier). They must end
// with the totals a serial run of the reference gives, and never break an invariant on the way: a count
// above hard_limit or below zero, a token past the burst, a circuit transition made twice, a client bound
// to two backends.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ReferenceEngine } from "../../src/core/reference-engine.ts";
import { TokenBucketReference, type RateLimitSettings } from "../../src/core/token-bucket.ts";
import type { SlotSpec } from "../../src/core/selection.ts";
import { createSharedEngine, type WasmEngine } from "../../src/engine/wasm-engine.ts";
import { startThread } from "../../src/runtime/threads.ts";
import { prng } from "./engine-fixtures.ts";
import type { ThreadData } from "../fixtures/engine-thread.ts";

const THREADS = 4;
const THREAD_MODULE = new URL("../fixtures/engine-thread.ts", import.meta.url);

async function hammer<T>(engine: WasmEngine, scenario: ThreadData["scenario"], params: Record<string, unknown>): Promise<T[]> {
  const barrier = new SharedArrayBuffer(8);
  const threads = Array.from({ length: THREADS }, (_, i) =>
    startThread(THREAD_MODULE, { memory: engine.memory, lane: i + 1, threads: THREADS, barrier, scenario, params } satisfies ThreadData));
  try {
    return (await Promise.all(threads.map((t) => t.result))) as T[];
  } finally {
    await Promise.all(threads.map((t) => t.terminate()));
  }
}

const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);
const spec = (hardLimit: number, over: Partial<SlotSpec> = {}): SlotSpec =>
  ({ country: 0, region: 1, local: true, healthy: true, weight: 1, softLimit: Math.max(1, Math.min(hardLimit, 10)), hardLimit, ...over });

test(`${THREADS} threads reserving and releasing: never above hard_limit, never below zero, the serial totals`, async () => {
  const hard = [0, 1, 5, 50, 200, 1_000, 3];
  const engine = createSharedEngine({ capacity: 8, lanes: THREADS + 1 });
  const reference = new ReferenceEngine(8);
  hard.forEach((h, slot) => { const s = spec(h, { weight: 1 + (slot % 3) }); engine.setSlot(slot, s); reference.setSlot(slot, s); });
  const attempts = 2_100, perSlot = (THREADS * attempts) / hard.length;
  const results = await hammer<{ afterHold: number[]; held: number[]; totals: number[] | null; violations: number }>(
    engine, "reserve", { slots: hard.length, hard, attempts, churn: 3_000, extraReleases: 200 });

  hard.forEach((h, slot) => {
    let serial = 0;
    for (let i = 0; i < perSlot; i++) if (reference.acquire(slot)) serial++;
    assert.equal(sum(results.map((r) => r.afterHold[slot]!)), serial, `slot ${slot} (hard ${h}): reservations admitted together = serially`);
    assert.equal(serial, Math.min(h, perSlot));
  });
  assert.equal(sum(results.map((r) => r.violations)), 0, "no thread ever saw a count above hard_limit (or wrapped below zero)");
  const totals = results.find((r) => r.totals !== null)!.totals!;
  hard.forEach((_, slot) => assert.equal(totals[slot], sum(results.map((r) => r.held[slot]!)), `slot ${slot}: the shared count is what the threads hold`));
  hard.forEach((_, slot) => assert.equal(engine.active(slot), 0, `slot ${slot}: every release counted once, extra releases ignored`));

  // The derived fields (load, filter keys, candidate flag) settled: selection agrees with the reference.
  for (let slot = 0; slot < hard.length; slot++) while (reference.active(slot) > 0) reference.release(slot);
  for (const [slot, n] of [[2, 3], [3, 17], [4, 150], [6, 3]] as const) {
    for (let i = 0; i < n; i++) { engine.acquire(slot); reference.acquire(slot); }
  }
  for (let slot = 0; slot < 8; slot++) assert.equal(engine.isCandidate(slot), reference.isCandidate(slot), `slot ${slot} candidate`);
  const random = prng(77);
  for (let q = 0; q < 500; q++) {
    const seed = random.int(1, 0xffffffff);
    assert.equal(engine.select(0, 1, 0, seed), reference.select(0, 1, 0, seed), `query ${q}`);
  }
});

test(`${THREADS} threads taking tokens for the same clients: exactly burst admitted per client`, async () => {
  const engine = createSharedEngine({ capacity: 1, lanes: THREADS + 1, bucketCapacity: 1_024 });
  engine.seedBuckets(0x2545f491);
  const settings: RateLimitSettings = { enabled: true, burst: 25, maxRequests: 1, windowMs: 60_000 };
  const nowMs = 1_700_000_000_000;
  const solo = await hammer<{ allowed: Record<string, number> }>(engine, "tokens", { ips: ["203.0.113.7"], takes: 300, nowMs, settings });
  assert.equal(sum(solo.map((r) => r.allowed["203.0.113.7"]!)), settings.burst, "one client hammered by every thread: exactly burst");

  // Many clients at once, two spellings of some (IPv4-mapped = the same client), against a serial run.
  const clients = Array.from({ length: 24 }, (_, i) => (i % 3 === 2 ? `2001:db8::${i.toString(16)}` : `198.51.100.${i}`));
  const ips = [...clients, ...clients.filter((c) => !c.includes(":")).slice(0, 6).map((c) => `::ffff:${c}`)];
  const takes = 1_200;
  const many = await hammer<{ allowed: Record<string, number> }>(engine, "tokens", { ips, takes, nowMs, settings });
  const reference = new TokenBucketReference();
  const serial = new Map<string, number>();
  for (let t = 0; t < THREADS; t++) {
    for (let i = 0; i < takes; i++) {
      const ip = ips[(i + t + 1) % ips.length]!;
      const client = ip.replace("::ffff:", "");
      if (reference.takeToken(ip, nowMs, settings)) serial.set(client, (serial.get(client) ?? 0) + 1);
    }
  }
  for (const client of clients) {
    const admitted = sum(many.flatMap((r) => [r.allowed[client] ?? 0, r.allowed[`::ffff:${client}`] ?? 0]));
    assert.equal(admitted, serial.get(client), `${client}: the threads admitted what one serial run admits`);
    assert.equal(admitted, settings.burst);
  }
});

test(`${THREADS} threads reporting the same circuit events: every transition happens once, all threads agree`, async () => {
  const slots = [0, 1, 2, 5];
  const engine = createSharedEngine({ capacity: 8, lanes: THREADS + 1 });
  const reference = new ReferenceEngine(8);
  for (const slot of slots) { engine.setSlot(slot, spec(100)); reference.setSlot(slot, spec(100)); }
  const p = { slots, failures: 12, threshold: 5, nowMs: 50_000, timeoutMs: 1_000, probeLimit: 3, admits: 6, successThreshold: 3 };
  const results = await hammer<{ opened: Record<number, number>; halfOpened: Record<number, number>; admitted: Record<number, number>; closed: Record<number, number>; states: number[][] }>(
    engine, "circuits", p);

  // The same events, serially, on the reference.
  const expected = { opened: 0, halfOpened: 0, admitted: 0, closed: 0 };
  for (let i = 0; i < THREADS * p.failures; i++) if (reference.circuitFailure(0, p.nowMs, p.threshold) === 1) expected.opened++;
  for (let s = reference.advanceCircuit(0, p.nowMs + p.timeoutMs, p.timeoutMs); s >= 0; s = reference.advanceCircuit(s + 1, p.nowMs + p.timeoutMs, p.timeoutMs)) if (s === 0) expected.halfOpened++;
  for (let i = 0; i < THREADS * p.admits; i++) if (reference.circuitAdmit(0, p.probeLimit)) expected.admitted++;
  for (let i = expected.admitted; i > 0; i--) if (reference.circuitSuccess(0, p.successThreshold, true) === 0) expected.closed++;
  assert.deepEqual(expected, { opened: 1, halfOpened: 1, admitted: p.probeLimit, closed: 1 });

  for (const slot of slots) {
    const total = (k: "opened" | "halfOpened" | "admitted" | "closed") => sum(results.map((r) => r[k][slot]!));
    assert.deepEqual({ opened: total("opened"), halfOpened: total("halfOpened"), admitted: total("admitted"), closed: total("closed") }, expected, `slot ${slot}`);
  }
  const stages = [[1, "open"], [2, "half-open"], [0, "closed"]] as const;
  stages.forEach(([state, name], stage) => {
    for (const r of results) assert.deepEqual(r.states[stage], slots.map(() => state), `every thread sees ${name} after stage ${stage}`);
  });
  for (const slot of slots) assert.equal(engine.isCandidate(slot), true, `slot ${slot} selectable again`);
});

test(`${THREADS} threads binding the same clients: one backend per client across threads; TTL expiry with fake time`, async () => {
  const engine = createSharedEngine({ capacity: 8, lanes: THREADS + 1, affinityCapacity: 4_096 });
  engine.seedBuckets(0x9e3779b9);
  for (let slot = 0; slot < 4; slot++) engine.setSlot(slot, spec(1_000));
  const keys = Array.from({ length: 300 }, (_, i) => (i % 2 === 0 ? `10.${i >> 8}.${i & 255}.9` : `2001:db8:${i.toString(16)}::1`));
  const ttlMs = 10_000, nowMs = 1_000_000;
  const results = await hammer<{ bound: Record<string, number>; seen: Record<string, number>; expired: number; size: number }>(
    engine, "affinity", { keys, slots: 4, ttlMs, nowMs });
  for (const key of keys) {
    const bound = new Set(results.map((r) => r.bound[key]));
    assert.equal(bound.size, 1, `${key}: every thread got the same backend (${[...bound].join(", ")})`);
    for (const r of results) assert.equal(r.seen[key], r.bound[key], `${key}: the binding is seen from every thread`);
  }
  assert.equal(engine.bindings(ttlMs).size, keys.length, "one entry per client: no duplicates");
  for (const r of results) assert.equal(r.expired, 0, "after the TTL (slid once) no binding is returned");
  assert.equal(engine.bindings(ttlMs).gc(nowMs + 2 * ttlMs), keys.length);
  assert.equal(engine.bindings(ttlMs).size, 0);
});

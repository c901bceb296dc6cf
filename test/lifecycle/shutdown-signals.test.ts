// The meaning of each shutdown signal, on a fake clock: the first shuts down, one in the same instant
// is the same request delivered twice (a task runner forwarding Ctrl-C), a later one forces the exit.
import { test } from "node:test";
import assert from "node:assert/strict";
import { DUPLICATE_WINDOW_MS, ShutdownSignals } from "../../src/lifecycle/shutdown-signals.ts";

test("first signal shuts down; a twin in the same instant is ignored; a later one forces the exit", () => {
  const signals = new ShutdownSignals();
  assert.equal(signals.receive(10_000), "shutdown");
  assert.equal(signals.receive(10_000), "duplicate");
  assert.equal(signals.receive(10_000 + DUPLICATE_WINDOW_MS - 1), "duplicate");
  assert.equal(signals.receive(10_000 + DUPLICATE_WINDOW_MS), "force");
  assert.equal(signals.receive(60_000), "force");
});

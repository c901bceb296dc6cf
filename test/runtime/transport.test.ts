// Runs the transport conformance suite against the adapter of the runtime executing this file.
import assert from "node:assert/strict";
import { test } from "node:test";
import { detectRuntime, loadTransport } from "../../src/runtime/index.ts";
import { transportSuite } from "../_suites/transport.ts";

const transport = await loadTransport();

test("loadTransport picks the adapter of the current runtime", () => {
  assert.equal(transport.runtime, detectRuntime());
});

test("an adapter imported on the wrong runtime throws a clear error", async () => {
  const foreign = detectRuntime() === "bun" ? "deno" : "bun";
  const label = { bun: "Bun", deno: "Deno" }[foreign];
  await assert.rejects(import(`../../src/runtime/${foreign}/transport.ts`), {
    message: `[edgeproxy] ${label} adapter used outside ${label}`,
  });
});

transportSuite(transport);

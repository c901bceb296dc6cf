// ≥ 2,000 random or malformed requests: the API must answer every one with a 4xx JSON error (never a
// 5xx) and leave the routing store exactly as it was.
import { test } from "node:test";
import assert from "node:assert/strict";
import { apiFixture, registration } from "./api-fixture.ts";
import { malformedBody, prng } from "./fuzz-bodies.ts";

const REQUESTS = 2500;
const SEED = 0x5eed;

test(`${REQUESTS} malformed requests: no 5xx, JSON errors, an unchanged store`, async () => {
  const api = apiFixture({ token: null });
  try {
    await api.request("/api/v1/register", { json: registration({ id: "kept-api" }) });
    await api.store.upsertBackend({ id: "kept-cli", region: "sa", host: "10.0.0.9", port: 9, lastHeartbeatMs: null });
    const marker = await api.store.changeMarker();
    const rows = JSON.stringify(await api.store.listBackends({ includeDeleted: true }));

    const rand = prng(SEED);
    const statuses = new Map<number, number>();
    for (let i = 0; i < REQUESTS; i++) {
      const body = malformedBody(rand);
      const r = rand();
      // Mostly registrations; the rest aim bodies and odd ids at the other endpoints.
      const id = encodeURIComponent(`nope-${i}-${body.slice(0, 8)}`.replace(/[\ud800-\udfff]/g, "?"));
      const [method, path] = r < 0.8 ? ["POST", "/api/v1/register"]
        : r < 0.88 ? ["POST", `/api/v1/heartbeat/${id}`]
        : r < 0.94 ? ["DELETE", `/api/v1/backends/${id}`]
        : ["PATCH", r < 0.97 ? "/api/v1/register" : `/api/v1/${id}`];
      const res = await api.app.request(path, { method, body, headers: { "content-type": rand() < 0.7 ? "application/json" : "text/plain" } });
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      const text = await res.text();
      assert.ok(res.status >= 400 && res.status < 500, `request ${i} (seed ${SEED}): ${method} ${path} ${JSON.stringify(body.slice(0, 200))} → ${res.status} ${text.slice(0, 200)}`);
      const parsed = JSON.parse(text) as { error?: unknown; field?: unknown };
      assert.equal(typeof parsed.error, "string", text);
      assert.ok("field" in parsed, text);
    }
    assert.equal(await api.store.changeMarker(), marker, "no routing change");
    assert.equal(JSON.stringify(await api.store.listBackends({ includeDeleted: true })), rows, "every row as it was");
    assert.ok((statuses.get(400) ?? 0) > REQUESTS / 2, JSON.stringify([...statuses]));
  } finally {
    await api.close();
  }
});

// parseBackendRow / checkBackendColumns: every column's accepted forms, NULL defaults and reasons.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { parseBackendRow, checkBackendColumns, isIPv4, isIPv6, isHostname } from "../../src/core/backend-row.ts";

const GOOD = {
  id: "sa-1", app: "myapp", region: "sa", country: "BR", wg_ip: "10.50.1.1", port: 8080,
  healthy: 1, weight: 2, soft_limit: 100, hard_limit: 150, version: 3, deleted: 0,
} as const;

function parse(overrides: Record<string, unknown>) {
  return parseBackendRow({ ...GOOD, ...overrides });
}

function reasonFor(overrides: Record<string, unknown>): string {
  const r = parse(overrides);
  assert.equal(r.ok, false, `expected ${JSON.stringify(overrides)} to be rejected`);
  return r.ok ? "" : r.reason;
}

describe("parseBackendRow", () => {
  test("a complete row becomes a Backend", () => {
    const r = parseBackendRow(GOOD);
    assert.deepEqual(r, {
      ok: true,
      backend: { id: "sa-1", app: "myapp", region: "sa", country: "BR", host: "10.50.1.1", port: 8080, healthy: true, weight: 2, softLimit: 100, hardLimit: 150, version: 3 },
      adjusted: [],
    });
  });

  test("NULL columns take the documented defaults", () => {
    const r = parse({ app: null, country: null, healthy: null, weight: null, soft_limit: null, hard_limit: null, version: null });
    assert.ok(r.ok);
    assert.equal(r.backend.app, "");
    assert.equal(r.backend.country, null);
    assert.equal(r.backend.healthy, false);
    assert.equal(r.backend.weight, 1);
    assert.equal(r.backend.softLimit, 100);
    assert.equal(r.backend.hardLimit, 150);
    assert.equal(r.backend.version, 0);
  });

  test("missing columns (a legacy row has no country/version) count as NULL", () => {
    const { country: _c, version: _v, ...legacy } = GOOD;
    const r = parseBackendRow(legacy);
    assert.ok(r.ok);
    assert.equal(r.backend.country, null);
    assert.equal(r.backend.version, 0);
  });

  test("NULL hard_limit follows a soft_limit above 150", () => {
    const r = parse({ soft_limit: 400, hard_limit: null });
    assert.ok(r.ok);
    assert.equal(r.backend.hardLimit, 400);
  });

  test("region is lower-cased, country upper-cased, an empty country means none", () => {
    const r = parse({ region: "EU", country: "de" });
    assert.ok(r.ok);
    assert.equal(r.backend.region, "eu");
    assert.equal(r.backend.country, "DE");
    const empty = parse({ country: "" });
    assert.ok(empty.ok);
    assert.equal(empty.backend.country, null);
  });

  test("operator-defined regions are accepted", () => {
    for (const region of ["sa-east-1", "edge_2", "af", "x"]) assert.ok(parse({ region }).ok, region);
  });

  test("wg_ip accepts IPv4, IPv6 and host names", () => {
    for (const host of ["10.0.0.1", "0.0.0.0", "255.255.255.255", "::1", "fd00::2:1", "2001:db8:0:0:0:0:0:1", "::ffff:10.0.0.1", "fe80::1%wg0", "localhost", "backend-1.internal", "a.b.c.", "1e100.net"]) {
      const r = parse({ wg_ip: host });
      assert.ok(r.ok, host);
      assert.equal(r.backend.host, host);
    }
  });

  test("booleans and bigints are accepted (other drivers)", () => {
    const r = parse({ healthy: true, port: 8080n, weight: 2n });
    assert.ok(r.ok);
    assert.equal(r.backend.healthy, true);
    assert.equal(r.backend.port, 8080);
    const off = parse({ healthy: false });
    assert.ok(off.ok);
    assert.equal(off.backend.healthy, false);
  });

  const rejected: [string, Record<string, unknown>, string][] = [
    ["port too large", { port: 70000 }, "port: expected an integer 1-65535, got 70000"],
    ["port zero", { port: 0 }, "port: expected an integer 1-65535, got 0"],
    ["port NULL", { port: null }, "port: expected an integer 1-65535, got NULL"],
    ["port fractional", { port: 80.5 }, "port: expected an integer 1-65535, got 80.5"],
    ["port as text", { port: "http" }, 'port: expected an integer 1-65535, got "http"'],
    ["id empty", { id: "" }, 'id: expected text of 1-255 characters without control characters or lone surrogates, got ""'],
    ["id NULL", { id: null }, "id: expected text of 1-255 characters without control characters or lone surrogates, got NULL"],
    ["id number", { id: 7 }, "id: expected text of 1-255 characters without control characters or lone surrogates, got 7"],
    ["region empty", { region: "" }, "region: expected a region code"],
    ["region NULL", { region: null }, "region: expected a region code"],
    ["region with spaces", { region: "south america" }, "region: expected a region code"],
    ["wg_ip NULL", { wg_ip: null }, "wg_ip: expected an IPv4 address, an IPv6 address without brackets or a hostname, got NULL"],
    ["wg_ip bad octet", { wg_ip: "999.1.1.1" }, "wg_ip: expected"],
    ["wg_ip leading zero", { wg_ip: "10.01.0.1" }, "wg_ip: expected"],
    ["wg_ip bracketed IPv6", { wg_ip: "[::1]" }, "wg_ip: expected"],
    ["wg_ip with port", { wg_ip: "10.0.0.1:8080" }, "wg_ip: expected"],
    ["wg_ip with space", { wg_ip: "my host" }, "wg_ip: expected"],
    ["wg_ip bad IPv6", { wg_ip: "1::2::3" }, "wg_ip: expected"],
    ["hard_limit 0 (no connection could be admitted)", { hard_limit: 0 }, "hard_limit: expected an integer from 1 to 1000000 or NULL, got 0"],
    ["hard_limit as text (the cap is unknown)", { hard_limit: "lots" }, 'hard_limit: expected an integer from 1 to 1000000 or NULL, got "lots"'],
  ];
  for (const [name, overrides, reason] of rejected) {
    test(`rejects ${name}`, () => {
      const got = reasonFor(overrides);
      assert.ok(got.startsWith(reason), `reason ${JSON.stringify(got)} should start with ${JSON.stringify(reason)}`);
    });
  }

  // Values out of shape on a row that can still be routed: replaced, and the reason reported once.
  const adjustedRows: [string, Record<string, unknown>, Record<string, unknown>, string][] = [
    ["hard_limit lowered below soft_limit by hand", { soft_limit: 100, hard_limit: 2 }, { softLimit: 2, hardLimit: 2 }, "soft_limit: 100 is above hard_limit 2; routed with soft_limit 2"],
    ["hard below soft", { soft_limit: 200, hard_limit: 150 }, { softLimit: 150, hardLimit: 150 }, "soft_limit: 200 is above hard_limit 150"],
    ["hard too large", { hard_limit: 1_000_001 }, { hardLimit: 1_000_000 }, "hard_limit: 1000001 is above 1000000"],
    ["country 3 letters", { country: "BRA" }, { country: null }, 'country: expected a 2-letter ISO 3166-1 code or NULL, got "BRA"'],
    ["country digits", { country: "12" }, { country: null }, "country: expected a 2-letter ISO 3166-1 code or NULL"],
    ["healthy 2", { healthy: 2 }, { healthy: false }, "healthy: expected 0 or 1 or NULL, got 2"],
    ["healthy text", { healthy: "yes" }, { healthy: false }, 'healthy: expected 0 or 1 or NULL, got "yes"'],
    ["weight 0", { weight: 0 }, { weight: 1 }, "weight: expected an integer 1-1000000 or NULL, got 0"],
    ["weight too large", { weight: 1_000_001 }, { weight: 1_000_000 }, "weight: expected an integer 1-1000000 or NULL, got 1000001"],
    ["weight negative", { weight: -1 }, { weight: 1 }, "weight: expected an integer 1-1000000 or NULL, got -1"],
    ["soft_limit 0", { soft_limit: 0 }, { softLimit: 1 }, "soft_limit: expected an integer 1-1000000 or NULL, got 0"],
    ["soft_limit as text", { soft_limit: "many" }, { softLimit: 100 }, 'soft_limit: expected an integer 1-1000000 or NULL, got "many"'],
    ["app number", { app: 5 }, { app: "" }, "app: expected text or NULL, got 5"],
    ["version negative", { version: -1 }, { version: 0 }, "version: expected an integer >= 0 or NULL, got -1"],
  ];
  for (const [name, overrides, expected, reason] of adjustedRows) {
    test(`routes with a replaced value: ${name}`, () => {
      const r = parse(overrides);
      assert.ok(r.ok, `expected ${JSON.stringify(overrides)} to be routed`);
      for (const [key, value] of Object.entries(expected)) assert.deepEqual(r.backend[key as keyof typeof r.backend], value, key);
      assert.equal(r.adjusted.length, 1, JSON.stringify(r.adjusted));
      assert.ok(r.adjusted[0]!.startsWith(reason), `${r.adjusted[0]} should start with ${reason}`);
    });
  }

  test("a rejected row still reports its id when it has one", () => {
    assert.deepEqual(parse({ port: 70000 }), { ok: false, id: "sa-1", reason: "port: expected an integer 1-65535, got 70000" });
    const noId = parse({ id: "" });
    assert.equal(noId.ok, false);
    assert.equal(noId.ok ? "" : noId.id, null);
  });

  test("long text is cut in reasons", () => {
    const reason = reasonFor({ region: "x".repeat(500) });
    assert.ok(reason.length < 250, reason);
  });
});

describe("checkBackendColumns", () => {
  test("checks only the columns given", () => {
    assert.equal(checkBackendColumns({ weight: 5 }), null);
    assert.equal(checkBackendColumns({ weight: 0 }), "weight: expected an integer 1-1000000 or NULL, got 0");
    assert.equal(checkBackendColumns({ soft_limit: 10, hard_limit: 20 }), null);
    assert.equal(checkBackendColumns({ soft_limit: 30, hard_limit: 20 }), "hard_limit: expected an integer from soft_limit (30) to 1000000 or NULL, got 20");
    assert.equal(checkBackendColumns({ deleted: 1, healthy: 1 }), null);
    assert.equal(checkBackendColumns({ id: "" }), 'id: expected text of 1-255 characters without control characters or lone surrogates, got ""');
  });
});

describe("address forms", () => {
  test("IPv4", () => {
    assert.ok(isIPv4("1.2.3.4"));
    for (const bad of ["1.2.3", "1.2.3.4.5", "256.1.1.1", "01.1.1.1", "a.b.c.d", ""]) assert.equal(isIPv4(bad), false, bad);
  });
  test("IPv6", () => {
    for (const ok of ["::", "::1", "1::", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:1.2.3.4", "::ffff:1.2.3.4", "fe80::1%eth0"]) assert.ok(isIPv6(ok), ok);
    for (const bad of ["1:2:3:4:5:6:7:8:9", "1::2::3", ":1", "1:", "12345::", "::1.2.3", "fe80::1%", "1.2.3.4", "1:2:3:4:5:6:7::8:9"]) assert.equal(isIPv6(bad), false, bad);
  });
  test("host names", () => {
    for (const ok of ["a", "a-b.c", "x.example.com.", "0a.b"]) assert.ok(isHostname(ok), ok);
    for (const bad of ["", "-a", "a-", "a..b", "a_b", "1.2.3.4", "999.1.1.1", "a".repeat(64), `${"a.".repeat(127)}aa`]) assert.equal(isHostname(bad), false, bad);
  });
});

// EDGEPROXY_PROXY_PROTOCOL* → config.proxyProtocol; bad values stop startup naming the variable.
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadConfig, ConfigError } from "../../src/config.ts";

test("off by default: nothing sent, nobody trusted, 3 s to send a header", () => {
  const { proxyProtocol } = loadConfig({});
  assert.equal(proxyProtocol.send, "off");
  assert.equal(proxyProtocol.trusted, null);
  assert.equal(proxyProtocol.timeoutMs, 3000);
});

test("values are parsed: version, CIDR list (IPv4 and IPv6), timeout", () => {
  const { proxyProtocol } = loadConfig({
    EDGEPROXY_PROXY_PROTOCOL: "V2", EDGEPROXY_PROXY_PROTOCOL_TRUSTED: "10.0.0.0/8, 2001:db8::/32,127.0.0.1", EDGEPROXY_PROXY_PROTOCOL_TIMEOUT_MS: "250",
  });
  assert.equal(proxyProtocol.send, "v2");
  assert.deepEqual(proxyProtocol.trusted?.text, ["10.0.0.0/8", "2001:db8::/32", "127.0.0.1"]);
  assert.ok(proxyProtocol.trusted?.contains("::ffff:10.9.8.7"));
  assert.equal(proxyProtocol.timeoutMs, 250);
  assert.equal(loadConfig({ EDGEPROXY_PROXY_PROTOCOL_TRUSTED: " , " }).proxyProtocol.trusted, null, "an empty list trusts nobody");
});

for (const [name, value, words] of [
  ["EDGEPROXY_PROXY_PROTOCOL", "v3", 'expected one of off, v1, v2, got "v3"'],
  ["EDGEPROXY_PROXY_PROTOCOL", "on", "expected one of off, v1, v2"],
  ["EDGEPROXY_PROXY_PROTOCOL_TRUSTED", "10.0.0.0/8,lb.example", 'expected IPv4 or IPv6 CIDRs like 10.0.0.0/8 or 2001:db8::/32, got "lb.example"'],
  ["EDGEPROXY_PROXY_PROTOCOL_TRUSTED", "10.0.0.1/8", "host bits set"],
  ["EDGEPROXY_PROXY_PROTOCOL_TIMEOUT_MS", "0", "positive integer"],
  ["EDGEPROXY_PROXY_PROTOCOL_TIMEOUT_MS", "3s", "positive integer"],
] as const) {
  test(`${name}=${JSON.stringify(value)} is refused naming the variable`, () => {
    assert.throws(() => loadConfig({ [name]: value }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.variable, name);
      assert.ok(err.message.startsWith(`${name}: `) && err.message.includes(words), err.message);
      return true;
    });
  });
}

// PROXY protocol against real peers: a client at 127.0.0.77 (or ::1) → HAProxy (send-proxy or
// send-proxy-v2) → edgeProxy (trusting HAProxy's address) → nginx stream (proxy_protocol, header v1
// from edgeProxy) or HAProxy (accept-proxy, header v2 from edgeProxy). The peer at the end answers
// with the client address it was told: the real client's, through two hops of headers.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { createRoutingDb, type RoutingDb } from "../fixtures/routing-db.ts";
import { startProxy, type ProxyProcess } from "../fixtures/proxy-process.ts";
import { freePort, peersMissing, startHaproxyBehind, startHaproxyFront, startNginxBehind, type Peer } from "../fixtures/peer-proxies.ts";

const CLIENT = "127.0.0.77";
const missing = peersMissing();
if (missing !== null && process.env.CI === "true") throw new Error(missing);

/** Connects from `localAddress`, sends an HTTP request, returns everything until the peer closes. */
function ask(port: number, host: string, localAddress?: string): Promise<{ text: string; localPort: number }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host, localAddress });
    let text = "", localPort = 0;
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`no answer within 10 s (got ${JSON.stringify(text)})`)); }, 10_000);
    socket.setEncoding("utf8");
    socket.on("connect", () => { localPort = socket.localPort!; socket.write("GET / HTTP/1.0\r\n\r\n"); });
    socket.on("data", (d: string) => { text += d; });
    socket.on("close", () => { clearTimeout(timer); resolve({ text, localPort }); });
    socket.on("error", (e) => { clearTimeout(timer); reject(e); });
  });
}

/** The last line of an answer: "nginx <addr> <port>" or "haproxy <addr> <port>". */
const lastLine = (text: string) => text.trimEnd().split("\n").at(-1)!.trim();

async function ipv6Available(): Promise<boolean> {
  try {
    await freePort("::1");
    return true;
  } catch {
    return false;
  }
}

describe("PROXY protocol with HAProxy and nginx", { skip: missing ?? false }, () => {
  let db: RoutingDb;
  let proxy: ProxyProcess;
  const peers: Peer[] = [];
  let v6 = false;
  let frontV1 = 0, frontV2 = 0;

  before(async () => {
    v6 = await ipv6Available();
    const both = (port: number): [string, number][] => (v6 ? [["127.0.0.1", port], ["::1", port]] : [["127.0.0.1", port]]);
    const nginxPort = await freePort(), haproxyPort = await freePort();
    peers.push(await startNginxBehind(both(nginxPort)));
    peers.push(await startHaproxyBehind(both(haproxyPort)));
    db = await createRoutingDb([
      { id: "nginx", region: "sa", port: nginxPort },
      { id: "haproxy", region: "sa", port: haproxyPort },
    ]);
    // Per backend: v1 to nginx, v2 to HAProxy (the env default stays off).
    const file = join(db.dir, "edgeproxy.toml");
    writeFileSync(file, '[backends.nginx]\nproxy_protocol = "v1"\n\n[backends.haproxy]\nproxy_protocol = "v2"\n');
    proxy = await startProxy({ EDGEPROXY_DB_PATH: db.path, EDGEPROXY_DB_RELOAD_SECS: "1", EDGEPROXY_CONFIG_FILE: file, EDGEPROXY_PROXY_PROTOCOL_TRUSTED: "127.0.0.1/32" });
    frontV1 = await freePort();
    frontV2 = await freePort();
    const target = { host: "127.0.0.1", port: proxy.port };
    peers.push(await startHaproxyFront([
      { bind: both(frontV1), send: "send-proxy", target },
      { bind: both(frontV2), send: "send-proxy-v2", target },
    ]));
  });

  after(async () => {
    await proxy?.stop();
    for (const peer of peers.reverse()) await peer.stop();
    db?.close();
  });

  /** One request through HAProxy; checks the peer at the end was told the real client; returns which peer. */
  async function throughOnce(front: number, host: string, localAddress?: string): Promise<string> {
    const { text, localPort } = await ask(front, host, localAddress);
    const [who, addr, port] = lastLine(text).split(" ");
    assert.ok(who === "nginx" || who === "haproxy", `unexpected answer ${JSON.stringify(text)}`);
    assert.equal(`${addr} ${port}`, `${localAddress ?? host} ${localPort}`, `${who} was told the real client (answer ${JSON.stringify(text)})`);
    return who;
  }

  /** Affinity keeps one client on one backend: distinct loopback sources reach both. */
  async function throughBoth(front: number): Promise<void> {
    const seen = new Set<string>();
    for (let i = 0; i < 40 && seen.size < 2; i++) seen.add(await throughOnce(front, "127.0.0.1", i === 0 ? CLIENT : `127.0.0.${100 + i}`));
    assert.equal(seen.size, 2, `both backends answered: ${[...seen]}`);
  }

  test("HAProxy send-proxy (v1) in front: nginx (v1) and HAProxy (v2) behind see the client's own address and port", async () => {
    await throughBoth(frontV1);
  });

  test("HAProxy send-proxy-v2 in front: the same, end to end", async () => {
    await throughBoth(frontV2);
  });

  test("an IPv6 client (::1) through both header versions", async (t) => {
    if (!v6) return t.skip("no IPv6 loopback");
    // One IPv6 loopback address, so one bound backend: disable it in the store to reach the other.
    const first = await throughOnce(frontV1, "::1");
    assert.equal(await throughOnce(frontV2, "::1"), first, "the same client stays on its backend");
    db.exec("UPDATE backends SET healthy = 0 WHERE id = ?", first);
    try {
      const started = Date.now();
      let other = first;
      while (other === first) {
        assert.ok(Date.now() - started < 15_000, "the other backend took over within 15 s");
        other = await throughOnce(frontV2, "::1");
      }
      assert.equal(await throughOnce(frontV1, "::1"), other);
    } finally {
      db.exec("UPDATE backends SET healthy = 1 WHERE id = ?", first);
    }
  });

  test("a client that bypasses HAProxy is not trusted: it is an ordinary client, and its own header is refused", async () => {
    const direct = await ask(proxy.port, "127.0.0.1", CLIENT);
    assert.match(lastLine(direct.text), new RegExp(`^(nginx|haproxy) 127\\.0\\.0\\.77 ${direct.localPort}$`));
    const spoof = await new Promise<string>((resolve, reject) => {
      const socket = net.connect({ port: proxy.port, host: "127.0.0.1", localAddress: CLIENT });
      let text = "";
      socket.setEncoding("utf8");
      socket.on("connect", () => socket.write("PROXY TCP4 6.6.6.6 1.1.1.1 1 2\r\nGET / HTTP/1.0\r\n\r\n"));
      socket.on("data", (d: string) => { text += d; });
      socket.on("close", () => resolve(text));
      socket.on("error", reject);
    });
    assert.equal(spoof, "", "closed without an answer");
  });
});

// Idle proxied connections hold no pooled read buffer: Node's idle sockets share one landing buffer,
// Deno's hold a small probe each, Bun reads into the runtime's own buffer.
import assert from "node:assert/strict";
import net from "node:net";
import { test } from "node:test";
import { loadTransport } from "../../src/runtime/index.ts";
import { largeBuffers, probeBuffers, smallBuffers } from "../../src/runtime/buffer-pool.ts";
import type { Splice } from "../../src/runtime/types.ts";

const transport = await loadTransport();
const COUNT = 50;

async function until(check: () => boolean, what: string, ms = 20_000): Promise<void> {
  for (const end = Date.now() + ms; !check();) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test(`${COUNT} idle proxied connections hold no pooled read buffer (${transport.runtime})`, { timeout: 60_000 }, async () => {
  const backendSockets: net.Socket[] = [];
  const backend = net.createServer((socket) => {
    backendSockets.push(socket);
    socket.on("error", () => {});
    socket.on("data", (d) => socket.write(d)); // echo: one small exchange, then idle
  });
  await new Promise<void>((resolve) => backend.listen(0, "127.0.0.1", resolve));
  const backendPort = (backend.address() as net.AddressInfo).port;
  const splices: Splice[] = [];
  const listener = await transport.listen({ host: "127.0.0.1", port: 0 }, async (client) => {
    const upstream = await transport.connect({ host: "127.0.0.1", port: backendPort }, 5000);
    splices.push(transport.splice(client, upstream, { idleTimeoutMs: 0 }));
  });
  const before = { large: largeBuffers.inUse, small: smallBuffers.inUse, probe: probeBuffers.inUse };
  const clients: net.Socket[] = [];
  try {
    for (let i = 0; i < COUNT; i++) {
      const client = net.connect({ host: "127.0.0.1", port: listener.address.port });
      client.on("error", () => {});
      clients.push(client);
      const echoed = new Promise((resolve) => client.once("data", resolve));
      client.write(`hello ${i}`);
      await echoed; // a byte went each way through the proxy: both directions read and wrote
    }
    await until(() => splices.length === COUNT, "every splice");
    const held = { large: largeBuffers.inUse - before.large, small: smallBuffers.inUse - before.small, probe: probeBuffers.inUse - before.probe };
    assert.ok(held.large <= 2 && held.small <= 2, `pooled read buffers held by ${COUNT} idle connections: ${JSON.stringify(held)}`);
    // Deno's pending reads each keep a probe (1 KiB), two per connection; the others hold none.
    assert.ok(held.probe <= 2 * COUNT + 2, `probes: ${held.probe}`);
    if (transport.runtime !== "deno") assert.ok(held.probe <= 2, `probes: ${held.probe}`);
  } finally {
    for (const client of clients) client.destroy();
    for (const socket of backendSockets) socket.destroy();
    await Promise.all(splices.map((s) => s.done));
    await listener.close();
    await new Promise((resolve) => backend.close(resolve));
  }
});

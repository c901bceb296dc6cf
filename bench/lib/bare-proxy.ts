// The floor a proxy on this runtime can reach: a TCP pipe with no routing, no limits, no metrics and
// no timeouts, written with each runtime's fastest socket API (the ones edgeProxy's adapters use:
// Bun.listen/Bun.connect, Deno.listen/Deno.connect, node:net), on THREADS threads listening on one
// port with SO_REUSEPORT. bench/workers.bench.mjs measures it in the same run as edgeProxy and
// HAProxy, so "edgeProxy costs X µs per connection" reads against what the runtime itself costs.
// Env: BACKEND_HOST, BACKEND_PORT, LISTEN_PORT, THREADS (default 1).
// Not for production: no backpressure beyond what each API gives, no error reporting.
import { isMainThread, Worker } from "node:worker_threads";
declare const Bun: any, Deno: any;

const env = (name: string) => (typeof Deno !== "undefined" ? Deno.env.get(name) : process.env[name]);
const host = env("BACKEND_HOST") ?? "127.0.0.1";
const port = Number(env("BACKEND_PORT"));
const listen = Number(env("LISTEN_PORT"));
const threads = Number(env("THREADS") ?? 1);

if (isMainThread && threads > 1) {
  for (let i = 0; i < threads; i++) new Worker(new URL(import.meta.url));
} else if (typeof Bun !== "undefined") {
  // Bun's write() takes what the kernel accepts now: the rest waits in `queue` until drain, and the
  // source pauses meanwhile (the least a bulk transfer needs).
  type End = { socket: any; peer: End | null; queue: Uint8Array[]; ended: boolean; closed?: boolean }; // closed: its EOF came
  const send = (to: End, bytes: Uint8Array, from: End) => {
    if (to.queue.length > 0) { to.queue.push(bytes.slice()); return; }
    const n = to.socket.write(bytes);
    if (n < bytes.length) { to.queue.push(bytes.slice(n)); from.socket.pause(); }
  };
  const handlers = {
    data(s: any, b: Uint8Array) { const me: End = s.data; if (me.peer?.socket) send(me.peer, b, me); else me.queue.push(b.slice()); },
    drain(s: any) {
      const me: End = s.data;
      while (me.queue.length > 0) {
        const b = me.queue[0]!, n = s.write(b);
        if (n < b.length) { me.queue[0] = b.subarray(n); return; }
        me.queue.shift();
      }
      if (me.ended) s.end();
      me.peer?.socket?.resume();
    },
    end(s: any) {
      s.data.closed = true;
      const peer: End | null = s.data.peer;
      if (peer?.socket) { if (peer.queue.length > 0) peer.ended = true; else peer.socket.end(); }
    },
    close(s: any) { s.data.closed = true; s.data.peer?.socket?.end(); },
    error() {},
  };
  Bun.listen({
    hostname: "127.0.0.1", port: listen, reusePort: true, allowHalfOpen: true,
    socket: {
      ...handlers,
      open(c: any) {
        const client: End = { socket: c, peer: null, queue: [], ended: false };
        const upstream: End = { socket: null, peer: client, queue: [], ended: false };
        c.data = client;
        Bun.connect({
          hostname: host, port, allowHalfOpen: true, data: upstream,
          socket: {
            ...handlers,
            open(u: any) {
              upstream.socket = u;
              client.peer = upstream;
              for (const b of client.queue.splice(0)) send(upstream, b, client); // bytes the client sent first
              if (client.closed) u.end(); // the client finished (or left) before the backend answered
            },
          },
        }).catch(() => c.end());
      },
    },
  });
} else if (typeof Deno !== "undefined") {
  const pipe = async (client: any) => {
    try {
      const upstream = await Deno.connect({ hostname: host, port });
      await Promise.allSettled([client.readable.pipeTo(upstream.writable), upstream.readable.pipeTo(client.writable)]);
    } catch {
      try { client.close(); } catch { /* closed */ }
    }
  };
  for await (const client of Deno.listen({ hostname: "127.0.0.1", port: listen, reusePort: true })) void pipe(client);
} else {
  const net = await import("node:net");
  net.createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
    const upstream = net.connect({ host, port, allowHalfOpen: true, noDelay: true });
    client.pipe(upstream);
    upstream.pipe(client);
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
  }).listen({ host: "127.0.0.1", port: listen, reusePort: true });
}

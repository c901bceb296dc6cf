#!/usr/bin/env node
// A far-away backend on loopback: a TCP forwarder that behaves like a link with round-trip time RTT.
//   node bench/delay-link.mjs <listen port> <target port> <rtt ms>
// - connection setup: bytes a client sends are held until RTT after its connection was accepted (the
//   handshake a real client would have waited for; the kernel completes ours at once);
// - every chunk, either way, is delayed RTT / 2 (so a request/response costs one RTT).
// Used by bench/pool.bench.mjs because this machine's kernel has no netem qdisc (tc ... netem:
// "Specified qdisc kind is unknown"). Listens on 127.0.0.1 only.
import net from "node:net";

const [listenPort, targetPort, rttMs] = process.argv.slice(2).map(Number);
if (!listenPort || !targetPort || !(rttMs >= 0)) {
  console.error("usage: delay-link.mjs <listen port> <target port> <rtt ms>");
  process.exit(2);
}
const half = rttMs / 2;

/** Forwards `from` → `to`: each chunk (and the FIN) travels `half` ms, starting no earlier than `notBefore()`. */
function pipeDelayed(from, to, notBefore) {
  let last = 0; // keep order: a chunk never leaves before the one ahead of it
  const at = () => (last = Math.max(Math.max(Date.now(), notBefore()) + half, last));
  const later = (fn) => setTimeout(fn, Math.max(0, at() - Date.now()));
  from.on("data", (chunk) => later(() => { if (!to.destroyed) to.write(chunk); }));
  from.on("end", () => later(() => { if (!to.destroyed) to.end(); }));
}

net.createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
  const acceptedAt = Date.now();
  const upstream = net.connect({ port: targetPort, host: "127.0.0.1", allowHalfOpen: true, noDelay: true });
  pipeDelayed(client, upstream, () => acceptedAt + rttMs);
  pipeDelayed(upstream, client, () => 0);
  const destroy = () => { client.destroy(); upstream.destroy(); };
  client.on("error", destroy);
  upstream.on("error", destroy);
  client.on("close", () => setTimeout(() => upstream.destroy(), half + rttMs));
  upstream.on("close", () => setTimeout(() => client.destroy(), half));
}).listen(listenPort, "127.0.0.1", () => console.error(`delay link 127.0.0.1:${listenPort} → :${targetPort}, RTT ${rttMs} ms`));

#!/usr/bin/env node
// A demo backend for trying edgeProxy: a small HTTP server on 127.0.0.1 that answers with its name.
//   node examples/demo-backend.mjs [port=9001] [name=demo-<port>]      (also: bun …, deno run -A …)
//   GET /           → "hello from <name>"
//   GET /hold?secs=N → answers at once, then keeps the connection open N seconds (at most 600), so
//                      the status page shows it as an active connection
import http from "node:http";
import process from "node:process";

const port = Number(process.argv[2] ?? 9001);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`port: expected an integer from 0 to 65535, got "${process.argv[2]}"`);
  process.exit(2);
}
const name = process.argv[3] ?? `demo-${port}`;

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? "/", "http://demo");
  if (url.pathname === "/hold") {
    const secs = Math.min(600, Math.max(0, Number(url.searchParams.get("secs") ?? 30) || 0));
    res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
    res.write(`hello from ${name}, holding this connection for ${secs} s\n`);
    const timer = setTimeout(() => res.end("bye\n"), secs * 1000);
    res.on("close", () => clearTimeout(timer));
    return;
  }
  res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
  res.end(`hello from ${name}\n`);
});

server.listen(port, "127.0.0.1", () => {
  console.log(`demo backend ${name} listening on 127.0.0.1:${server.address().port}`);
});
const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections?.(); // held /hold connections too
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);

const a = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("a") });
console.log("a", a.port);
try {
  const b = Bun.serve({ hostname: "127.0.0.1", port: a.port, fetch: () => new Response("b"), reusePort: false });
  console.log("b", b.port);
  b.stop(true);
} catch (e) { console.log("threw", (e as Error).message); }
a.stop(true);

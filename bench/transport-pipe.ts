// Minimal proxy over the runtime adapter, no routing: measures the transport alone with
// /work/shared/bench/run.sh --proxy-cmd '<runtime> bench/transport-pipe.ts'.
// Env: LISTEN_PORT, BACKEND_HOST (default 127.0.0.1), BACKEND_PORT, IDLE_MS (default 0 = off).
import { loadTransport } from "../src/runtime/index.ts";
import { exit, readEnv } from "../src/runtime/env.ts";
import { onShutdownSignal } from "../src/runtime/signals.ts";
import { hostPort } from "../src/core/host-port.ts";

const env = readEnv();
const backend = { host: env.BACKEND_HOST ?? "127.0.0.1", port: Number(env.BACKEND_PORT) };
const transport = await loadTransport();
const idleTimeoutMs = Number(env.IDLE_MS ?? 0);

const connectErrors = new Map<string, number>(); // reported at exit: a proxy that drops clients must say so
const listener = await transport.listen({ host: "127.0.0.1", port: Number(env.LISTEN_PORT) }, (client) => {
  transport.connect(backend, 2000).then(
    (upstream) => void transport.splice(client, upstream, { idleTimeoutMs }),
    (error: Error & { code?: string }) => {
      connectErrors.set(error.code ?? "?", (connectErrors.get(error.code ?? "?") ?? 0) + 1);
      client.close();
    },
  );
});
console.log(`transport-pipe (${transport.runtime}) ${listener.address.port} -> ${hostPort(backend.host, backend.port)}`);
onShutdownSignal(() => {
  if (connectErrors.size > 0) console.error("transport-pipe: connect errors", Object.fromEntries(connectErrors));
  exit(0); // a clean exit also lets --cpu-prof write its profile
});

// Minimal proxy over the runtime adapter, no routing: measures the transport alone with
// /work/shared/bench/run.sh --proxy-cmd '<runtime> bench/transport-pipe.ts'.
// Env: LISTEN_PORT, BACKEND_HOST (default 127.0.0.1), BACKEND_PORT, IDLE_MS (default 0 = off).
import { loadTransport } from "../src/runtime/index.ts";
import { exit, readEnv } from "../src/runtime/env.ts";
import { onShutdownSignal } from "../src/runtime/signals.ts";

const env = readEnv();
const backend = { host: env.BACKEND_HOST ?? "127.0.0.1", port: Number(env.BACKEND_PORT) };
const transport = await loadTransport();
const idleTimeoutMs = Number(env.IDLE_MS ?? 0);

const listener = await transport.listen({ host: "127.0.0.1", port: Number(env.LISTEN_PORT) }, (client) => {
  transport.connect(backend, 2000).then(
    (upstream) => void transport.splice(client, upstream, { idleTimeoutMs }),
    () => client.close(),
  );
});
console.log(`transport-pipe (${transport.runtime}) ${listener.address.port} -> ${backend.host}:${backend.port}`);
onShutdownSignal(() => exit(0)); // a clean exit lets --cpu-prof write its profile

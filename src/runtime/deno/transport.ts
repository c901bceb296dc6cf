// Deno adapter: Deno.listen/Deno.connect with read/write loops over a reused buffer.
import { assertRuntime } from "../detect.ts";
import { connectFailed, connectTimedOut, errorCode, listenFailed } from "../errors.ts";
import { SpliceTally } from "../splice-tally.ts";
import type {
  ClientSocket,
  HostPort,
  Listener,
  ListenOptions,
  Splice,
  SpliceOptions,
  Transport,
  UpstreamSocket,
} from "../types.ts";
import { denoApi, type DenoConn, type DenoListener } from "./api.ts";
import { DenoSide } from "./side.ts";
import { listenTls } from "./tls-listener.ts";

assertRuntime("deno");
const deno = denoApi();

export function createTransport(): Transport {
  return { runtime: "deno", listen, listenTls, connect, splice };
}

async function listen(options: ListenOptions, onClient: (client: ClientSocket) => void): Promise<Listener> {
  let listener: DenoListener;
  try {
    listener = deno.listen({ hostname: options.host, port: options.port, transport: "tcp", ...(options.reusePort ? { reusePort: true } : {}) });
  } catch (error) {
    throw listenFailed(error, options);
  }
  let stopped = false;
  void acceptLoop(listener, onClient, () => stopped);
  return {
    runtime: "deno",
    address: { host: listener.addr.hostname, port: listener.addr.port },
    close: async () => {
      if (stopped) return;
      stopped = true;
      listener.close(); // accepted connections are separate resources and stay open
    },
  };
}

async function acceptLoop(
  listener: DenoListener,
  onClient: (client: ClientSocket) => void,
  stopped: () => boolean,
): Promise<void> {
  while (!stopped()) {
    let conn: DenoConn;
    try {
      conn = await listener.accept();
    } catch (error) {
      if (stopped()) return;
      // e.g. EMFILE: back off briefly instead of spinning
      console.error("[edgeproxy] accept failed:", error);
      await new Promise((resolve) => setTimeout(resolve, 50));
      continue;
    }
    try {
      onClient(new DenoSide(conn, true));
    } catch (error) {
      console.error("[edgeproxy] client handler failed:", error); // the accept loop must survive it
    }
  }
}

async function connect(target: HostPort, timeoutMs: number): Promise<DenoSide> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  try {
    const conn = await deno.connect({ hostname: target.host, port: target.port, signal: abort.signal });
    return new DenoSide(conn, false);
  } catch (error) {
    throw abort.signal.aborted ? connectTimedOut(timeoutMs, target) : connectFailed(errorCode(error), target);
  } finally {
    clearTimeout(timer);
  }
}

function splice(client: ClientSocket, upstream: UpstreamSocket, options: SpliceOptions): Splice {
  const tally = new SpliceTally();
  return tally.watch(DenoSide.join(client as DenoSide, upstream as DenoSide, tally, options.upstreamPrefix), options.idleTimeoutMs);
}

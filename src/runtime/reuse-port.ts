// Can this runtime run several listeners on one address (SO_REUSEPORT), one per worker thread? And how
// many CPUs may this process use (EDGEPROXY_WORKERS=auto)?
import os from "node:os";
import process from "node:process";
import { detectRuntime } from "./detect.ts";

/** null when listeners here can share an address with reusePort, else why not (logged at start). */
export function reusePortSupport(): string | null {
  if (process.platform !== "linux" && process.platform !== "freebsd") {
    return `SO_REUSEPORT load balancing is not available on ${process.platform}`;
  }
  switch (detectRuntime()) {
    case "bun":
      return null; // Bun.listen({ reusePort: true })
    case "deno": {
      // Deno.listen({ reusePort: true }) is an unstable API: without --unstable-net Deno exits the
      // process when it is used. The flag also exposes Deno.listenDatagram, which tells us it is on.
      const deno = (globalThis as { Deno?: { listenDatagram?: unknown } }).Deno;
      return typeof deno?.listenDatagram === "function" ? null
        : "Deno needs --unstable-net for Deno.listen({ reusePort: true }) (deno run -A --unstable-net src/main.ts; `deno task start` passes it)";
    }
    case "node": {
      const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
      return major > 22 || (major === 22 && minor >= 12) ? null : `Node ${process.versions.node} has no net reusePort (22.12 or later)`;
    }
  }
}

/** CPUs this process may run on (cgroup/affinity aware where the runtime knows it). */
export function availableCpus(): number {
  const n = typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length;
  return Math.max(1, n | 0);
}

// What the connection handler asks before it connects to a backend itself (pool/backend-pool.ts).
import type { Backend } from "../core/types.ts";
import type { UpstreamSocket } from "../runtime/types.ts";

export interface UpstreamPool {
  /** A pre-connected socket to `backend` for one client (it is never given out again), or null. */
  take(backend: Backend): UpstreamSocket | null;
}

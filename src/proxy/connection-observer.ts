// What the metrics layer learns from each connection. Optional: with metrics disabled the handler has
// no observer and does no timing at all; with one, each call is a few counter updates.
import type { Backend } from "../core/types.ts";

export interface ConnectionObserver {
  /** One routing decision (affinity + geo + selection) took this long. */
  decided(seconds: number): void;
  /** A backend connection opened after `connectSeconds`; null: a pooled socket, no connect was timed. */
  connected(backend: Backend, connectSeconds: number | null): void;
  /** A backend refused, timed out or failed to connect. */
  connectFailed(backend: Backend): void;
}

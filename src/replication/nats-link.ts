// The POP's link to the NATS cluster: connects in the background (the proxy never waits for NATS),
// retries with backoff, and reports each loss and return of the link once. A refused login is named
// after the variables to fix; the password never appears in a log line.
import { connect } from "@nats-io/transport-node";
import type { NatsConnection } from "@nats-io/nats-core";
import type { ReplicationConfig } from "../config.ts";
import type { Logger } from "../lifecycle/log.ts";

export interface LinkEvents {
  /** Connected (first time or again after a loss). */
  up(nc: NatsConnection): void;
  /** Lost; the client keeps trying. */
  down(): void;
}

const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 5000;

export function isAuthError(err: unknown): boolean {
  const e = err as { name?: string; message?: string; cause?: unknown };
  if (e?.name === "AuthorizationError" || /authori[sz]ation violation|authentication/i.test(String(e?.message ?? ""))) return true;
  return e?.cause !== undefined && e.cause !== err && isAuthError(e.cause);
}

export class NatsLink {
  #nc: NatsConnection | null = null;
  #stopped = false;
  #up = false;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #loop: Promise<void> | null = null;
  #lastProblem: string | null = null;

  readonly config: ReplicationConfig;
  readonly log: Logger;
  readonly events: LinkEvents;
  constructor(config: ReplicationConfig, log: Logger, events: LinkEvents) {
    this.config = config;
    this.log = log;
    this.events = events;
  }

  get up(): boolean {
    return this.#up;
  }

  get connection(): NatsConnection | null {
    return this.#up ? this.#nc : null;
  }

  start(): void {
    this.#loop = this.#connectLoop();
  }

  async #connectLoop(): Promise<void> {
    let wait = FIRST_RETRY_MS;
    while (!this.#stopped) {
      try {
        const nc = await connect({
          servers: [...this.config.servers],
          name: `edgeproxy-${this.config.popId}`,
          ...(this.config.user !== null ? { user: this.config.user, pass: this.config.password ?? "" } : {}),
          // The list given is the one to use: a relay or a NAT in front of the servers stays in the path.
          ignoreClusterUpdates: true,
          maxReconnectAttempts: -1,
          reconnectTimeWait: 250,
          reconnectJitter: 100,
          pingInterval: 2000,
          maxPingOut: 2,
          timeout: 3000,
        });
        if (this.#stopped) {
          await nc.close().catch(() => {});
          return;
        }
        this.#nc = nc;
        this.#watchStatus(nc);
        this.#setUp(true);
        // Resolves when the client gave up for good (closed): connect again from scratch.
        const closed = await nc.closed();
        this.#setUp(false);
        this.#nc = null;
        if (this.#stopped) return;
        this.log.debug("NATS connection closed for good, opening a new one", { error: closed ? closed.message : null });
        if (closed) this.#problem(closed);
        wait = FIRST_RETRY_MS;
      } catch (err) {
        if (this.#stopped) return;
        this.#problem(err);
      }
      await new Promise<void>((r) => { this.#timer = setTimeout(r, wait); });
      wait = Math.min(MAX_RETRY_MS, wait * 2);
    }
  }

  #problem(err: unknown): void {
    const auth = isAuthError(err);
    const kind = auth ? "auth" : String((err as Error)?.message ?? err);
    if (this.#lastProblem === kind) return; // once per kind of failure, not once per attempt
    this.#lastProblem = kind;
    if (auth) {
      this.log.error("NATS refused the login: check EDGEPROXY_REPLICATION_NATS_USER and EDGEPROXY_REPLICATION_NATS_PASSWORD; routing continues on the local routing.db, changes wait in its outbox", { servers: this.config.servers.join(","), user: this.config.user });
    } else {
      this.log.warn("replication link down: NATS unreachable, routing continues on the local routing.db, changes wait in its outbox (retrying)", { servers: this.config.servers.join(","), error: kind });
    }
  }

  async #watchStatus(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === "disconnect") this.#setUp(false);
      else if (s.type === "reconnect") this.#setUp(true);
      else if (s.type === "error" && isAuthError(s.error)) this.#problem(s.error);
    }
  }

  #setUp(up: boolean): void {
    if (up === this.#up) return;
    this.#up = up;
    if (up) {
      this.#lastProblem = null;
      this.log.info("replication link up", { servers: this.config.servers.join(","), pop: this.config.popId });
      this.events.up(this.#nc!);
    } else {
      if (!this.#stopped) this.log.warn("replication link lost: routing continues on the local routing.db, changes wait in its outbox", { pop: this.config.popId });
      this.events.down();
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    const nc = this.#nc;
    this.#nc = null;
    this.#up = false;
    // A server that does not answer must not hold shutdown: close() flushes, bounded here.
    if (nc !== null) await Promise.race([nc.close().catch(() => {}), new Promise((r) => setTimeout(r, 1000))]);
  }
}

// The PROXY protocol accept gate, in front of the client handler on the TCP listener. A client
// from a trusted address (EDGEPROXY_PROXY_PROTOCOL_TRUSTED) must start with a PROXY header: it is
// read from the socket's early bytes, dropped from them, and the handler gets the real client as
// `origin` (rate limit, affinity, geo, logs use it). A malformed, oversized, truncated or slow header
// closes the connection before any byte can reach a backend, and is counted. Clients from other
// addresses go straight to the handler, untouched.
import type { ClientSocket } from "../runtime/types.ts";
import type { Logger } from "../core/logger.ts";
import type { CidrSet } from "../core/proxy-protocol/cidr.ts";
import type { ProxyParse, ProxyRejection } from "../core/proxy-protocol/header.ts";
import { parseProxyHeader } from "../core/proxy-protocol/parse.ts";
import { originOf, type ClientHandler } from "./handle-client.ts";
import type { ProxyHeaderStats } from "./proxy-header-stats.ts";
import type { RefusalLog } from "./refusal-log.ts";

export interface ProxyHeaderGateOptions {
  readonly trusted: CidrSet;
  /** A trusted client that has not sent its whole header by then is closed ("timeout"). */
  readonly timeoutMs: number;
  readonly stats: ProxyHeaderStats;
  readonly log: Logger;
  /** Refused headers, logged rate-limited (proxy-protocol.ts shares it with the untrusted check). */
  readonly refusals: RefusalLog;
}

export function gateProxyHeaders(handler: ClientHandler, options: ProxyHeaderGateOptions): (client: ClientSocket) => void {
  const { trusted, timeoutMs, stats, log, refusals } = options;
  return (client) => {
    if (!trusted.contains(client.remoteAddress)) {
      void client.peekEarly(0); // read from now on, so a header it may not send is seen before splice
      handler(client);
      return;
    }
    readHeader(client, timeoutMs).then(
      (parsed) => {
        if (parsed.kind !== "header") {
          stats.refuse(parsed.reason);
          reportRefusal(refusals, parsed.reason, client.remoteAddress);
          client.close();
          return;
        }
        client.skipEarly(parsed.length);
        const { header } = parsed;
        if (header.command === "proxy") {
          stats.accepted++;
          handler(client, header.origin);
        } else {
          stats.local++; // the balancer's own connection (health check): its socket is the client
          handler(client, originOf(client));
        }
      },
      (err: unknown) => {
        log.error("PROXY header gate failed", { error: (err as Error).stack ?? String(err) });
        client.close();
      },
    );
  };
}

/** A header that is broken or not allowed is a misconfigured balancer or a probe (warn); one that
 *  came too slowly or was cut short is the network or a client that left (info). */
export function reportRefusal(refusals: RefusalLog, reason: ProxyRejection, peer: string): void {
  const level = reason === "timeout" || reason === "truncated" ? "info" : "warn";
  refusals.report(level, reason, "PROXY header refused: client closed", { peer, reason });
}

type Outcome = Exclude<ProxyParse, { kind: "incomplete" }>;

/** Peeks at more and more of the client's bytes until they hold a whole header or cannot. */
async function readHeader(client: ClientSocket, timeoutMs: number): Promise<Outcome> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<null>((resolve) => (timer = setTimeout(resolve, timeoutMs, null)));
  try {
    let have = 0;
    for (;;) {
      const bytes = await Promise.race([client.peekEarly(have + 1), expired]);
      if (bytes === null) return refused("timeout");
      const parsed = parseProxyHeader(bytes);
      if (parsed.kind !== "incomplete") return parsed;
      if (bytes.length <= have) return refused("truncated"); // the client finished sending or left
      have = bytes.length;
    }
  } finally {
    clearTimeout(timer);
  }
}

const refused = (reason: ProxyRejection): Outcome => ({ kind: "rejected", reason });

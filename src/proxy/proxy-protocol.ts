// PROXY protocol for one running proxy: what the client handler sends to backends
// (EDGEPROXY_PROXY_PROTOCOL, overridden per backend by proxy_protocol in the config file) and the
// accept gate on the TCP listener (EDGEPROXY_PROXY_PROTOCOL_TRUSTED). With everything off the
// handler gets no hooks and the listener no gate: the data path does no PROXY work at all.
import type { ProxyProtocolConfig } from "../core/proxy-protocol/header.ts";
import type { BackendOverrides } from "../core/backend-overrides.ts";
import type { ClientSocket } from "../runtime/types.ts";
import type { Logger } from "../core/logger.ts";
import { startsLikeProxyHeader } from "../core/proxy-protocol/parse.ts";
import { V1_PREFIX, V2_SIGNATURE } from "../core/proxy-protocol/header.ts";
import type { ClientHandler, ProxyProtocolHooks } from "./handle-client.ts";
import { gateProxyHeaders, reportRefusal } from "./proxy-header-gate.ts";
import { RefusalLog } from "./refusal-log.ts";
import { ProxyHeaderStats } from "./proxy-header-stats.ts";

export interface ProxyProtocolDeps {
  readonly config: ProxyProtocolConfig;
  /** Per-backend overrides as reloaded from the config file (read per connection). */
  readonly overrides: () => BackendOverrides;
  /** A config file can turn sending on for a backend later, so the hooks must exist. */
  readonly hasConfigFile: boolean;
  readonly log: Logger;
  readonly now: () => number;
}

export class ProxyProtocol {
  readonly stats = new ProxyHeaderStats();
  /** For createClientHandler; undefined when no header can ever be sent or refused. */
  readonly hooks: ProxyProtocolHooks | undefined;
  readonly #deps: ProxyProtocolDeps;
  readonly #refusals: RefusalLog;

  constructor(deps: ProxyProtocolDeps) {
    this.#deps = deps;
    this.#refusals = new RefusalLog(deps.log, deps.now);
    const { config, overrides, hasConfigFile } = deps;
    const { send, trusted } = config;
    if (send === "off" && !hasConfigFile && trusted === null) {
      this.hooks = undefined;
      return;
    }
    this.hooks = {
      versionFor: (backend) => {
        const version = overrides().get(backend.id)?.proxyProtocol ?? send;
        return version === "off" ? null : version;
      },
      ...(trusted === null ? {} : { untrustedHeader: (client: ClientSocket) => this.#untrustedHeader(client) }),
    };
  }

  /** The TCP listener's onClient: the accept gate when trusted addresses are set, else the handler. */
  listenerEntry(handler: ClientHandler): (client: ClientSocket) => void {
    const { trusted, timeoutMs } = this.#deps.config;
    if (trusted === null) return handler;
    return gateProxyHeaders(handler, { trusted, timeoutMs, stats: this.stats, log: this.#deps.log, refusals: this.#refusals });
  }

  /** A client that is not trusted, or came over TLS, starting with a PROXY signature: refused.
   *  Looks at what it sent by the time its backend connected (waiting a moment for a first byte,
   *  which a client that speaks first has sent by then), and waits (bounded) only while the bytes
   *  so far could still be either a signature or ordinary data. */
  async #untrustedHeader(client: ClientSocket): Promise<boolean> {
    let bytes = await this.#peekWithin(client, 1, FIRST_BYTE_GRACE_MS);
    if (bytes.length === 0 || !startsLikeProxyHeader(bytes)) return false;
    const need = bytes[0] === V1_PREFIX[0] ? V1_PREFIX.length : V2_SIGNATURE.length;
    if (bytes.length < need) bytes = await this.#peekWithin(client, need, this.#deps.config.timeoutMs);
    if (bytes.length < need || !startsLikeProxyHeader(bytes)) return false;
    this.stats.refuse("untrusted");
    reportRefusal(this.#refusals, "untrusted", client.remoteAddress);
    return true;
  }

  /** peekEarly(minBytes), or what is there after `ms`. */
  async #peekWithin(client: ClientSocket, minBytes: number, ms: number): Promise<Uint8Array> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<null>((resolve) => (timer = setTimeout(resolve, ms, null)));
    const bytes = await Promise.race([client.peekEarly(minBytes), expired]);
    clearTimeout(timer);
    return bytes ?? client.peekEarly(0);
  }
}

/** How long an untrusted client's first byte is waited for before splice when none came yet: only a
 *  client that waits for the server to speak first (SMTP, MySQL) pays it, once per connection. */
const FIRST_BYTE_GRACE_MS = 20;

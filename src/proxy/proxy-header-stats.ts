// PROXY headers seen by the accept gate, read by the metrics at scrape time
// (edgeproxy_proxy_protocol_headers_total, edgeproxy_proxy_protocol_rejected_total{reason}).
import { PROXY_REJECTIONS, type ProxyRejection } from "../core/proxy-protocol/header.ts";

export class ProxyHeaderStats {
  /** PROXY headers accepted: the connection then carried the real client's address. */
  accepted = 0;
  /** LOCAL (v2) or UNKNOWN (v1) headers: the sender's own connection, e.g. its health check. */
  local = 0;
  readonly #rejected = new Map<ProxyRejection, number>(PROXY_REJECTIONS.map((r) => [r, 0]));

  refuse(reason: ProxyRejection): void {
    this.#rejected.set(reason, (this.#rejected.get(reason) ?? 0) + 1);
  }

  /** Connections closed for `reason` so far. */
  rejected(reason: ProxyRejection): number {
    return this.#rejected.get(reason) ?? 0;
  }

  get rejectedTotal(): number {
    let n = 0;
    for (const v of this.#rejected.values()) n += v;
    return n;
  }
}

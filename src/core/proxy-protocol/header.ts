// The PROXY protocol (HAProxy, versions 1 and 2): a header a load balancer writes before the first
// byte of a TCP connection to tell the next hop who the real client is. Pure types and constants.
//
// Version 1: one line of text, at most 107 bytes with its CRLF.
//
//   "PROXY TCP4 203.0.113.7 192.0.2.1 51234 443\r\n"      (TCP6: IPv6 addresses)
//   "PROXY UNKNOWN\r\n"                                   (anything after UNKNOWN up to CRLF: ignored)
//
// Version 2: binary, 16 bytes then `length` bytes of addresses and TLVs.
//
//   offset  0                                      12       13       14       16
//          ┌───────────────────────────────────────┬────────┬────────┬────────┐
//          │ \r \n \r \n \0 \r \n Q U I T \n        │ver|cmd │fam|prot│ length │ (big-endian)
//          └───────────────────────────────────────┴────────┴────────┴────────┘
//   ver = 2; cmd 0 LOCAL (a check from the balancer itself: use the socket's addresses), 1 PROXY.
//   fam 1 INET:  src(4) dst(4) sport(2) dport(2)     = 12 bytes
//   fam 2 INET6: src(16) dst(16) sport(2) dport(2)   = 36 bytes
//   fam 0 UNSPEC, 3 UNIX, prot other than 1 STREAM: the addresses are not usable for TCP: treated
//   like LOCAL. After the addresses, TLVs (type(1) length(2) value) up to `length`: skipped.
import type { CidrSet } from "./cidr.ts";

/** Where a proxied connection came from and went to, as the first hop saw it. */
export interface ConnectionOrigin {
  readonly sourceAddress: string;
  readonly sourcePort: number;
  readonly destinationAddress: string;
  readonly destinationPort: number;
}

/** A parsed header: PROXY carries the real endpoints; LOCAL (and v1 UNKNOWN) says "use the socket's". */
export type ProxyHeader =
  | { readonly command: "proxy"; readonly version: 1 | 2; readonly origin: ConnectionOrigin }
  | { readonly command: "local"; readonly version: 1 | 2 };

/** Why a header was refused (also the `reason` label of edgeproxy_proxy_protocol_rejected_total). */
export type ProxyRejection = "malformed" | "oversized" | "truncated" | "timeout" | "untrusted";

export const PROXY_REJECTIONS: readonly ProxyRejection[] = ["malformed", "oversized", "truncated", "timeout", "untrusted"];

/** Outcome of looking at the first bytes of a connection; never an exception. */
export type ProxyParse =
  | { readonly kind: "header"; readonly header: ProxyHeader; /** Bytes the header takes; the rest is payload. */ readonly length: number }
  | { readonly kind: "incomplete" }
  | { readonly kind: "rejected"; readonly reason: ProxyRejection };

export type ProxyVersion = "v1" | "v2";

export const V1_MAX_BYTES = 107;
/** A v2 header longer than this (addresses + TLVs) is refused as oversized; cloud balancers send a
 *  few hundred bytes at most. Below the adapters' early-bytes bound (runtime/limits.ts), so a
 *  header can always be read whole before splicing. */
export const V2_MAX_BYTES = 4096;

export const V2_SIGNATURE = Uint8Array.of(0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a);
export const V1_PREFIX = Uint8Array.of(0x50, 0x52, 0x4f, 0x58, 0x59, 0x20); // "PROXY "

export interface ProxyProtocolConfig {
  /** Header sent to every backend before the client's bytes, unless the config file says otherwise
   *  for a backend ([backends."id"] proxy_protocol). */
  readonly send: ProxyVersion | "off";
  /** Peers that must send a PROXY header (on the TCP listener); null = none, no header is read. */
  readonly trusted: CidrSet | null;
  /** A trusted peer that has not sent its whole header by then is disconnected. */
  readonly timeoutMs: number;
}

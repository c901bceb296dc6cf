// Parses a PROXY header (v1 or v2, header.ts) from the first bytes a connection sent. Called again
// with more bytes while it answers "incomplete"; refuses as soon as the bytes so far cannot start a
// valid header, so garbage is not waited on. Never throws: every outcome is a value.
import { ipFamilyBytes, ipv4Text, ipv6Text } from "./ip-text.ts";
import { V1_MAX_BYTES, V1_PREFIX, V2_MAX_BYTES, V2_SIGNATURE, type ConnectionOrigin, type ProxyParse, type ProxyRejection } from "./header.ts";

const INCOMPLETE: ProxyParse = Object.freeze({ kind: "incomplete" });
const rejected = (reason: ProxyRejection): ProxyParse => ({ kind: "rejected", reason });

export function parseProxyHeader(bytes: Uint8Array): ProxyParse {
  if (bytes.length === 0) return INCOMPLETE;
  if (bytes[0] === V1_PREFIX[0]) return parseV1(bytes);
  if (bytes[0] === V2_SIGNATURE[0]) return parseV2(bytes);
  return rejected("malformed");
}

/** True when `bytes` (maybe only a few) are the start of a PROXY header of either version. */
export function startsLikeProxyHeader(bytes: Uint8Array): boolean {
  const signature = bytes[0] === V1_PREFIX[0] ? V1_PREFIX : V2_SIGNATURE;
  return bytes.length > 0 && matchesPrefix(bytes, signature);
}

function matchesPrefix(bytes: Uint8Array, signature: Uint8Array): boolean {
  const n = Math.min(bytes.length, signature.length);
  for (let i = 0; i < n; i++) if (bytes[i] !== signature[i]) return false;
  return true;
}

// ---------------------------------------------------------------- v1: one text line

function parseV1(bytes: Uint8Array): ProxyParse {
  if (!matchesPrefix(bytes, V1_PREFIX)) return rejected("malformed");
  const scan = Math.min(bytes.length, V1_MAX_BYTES);
  let lf = -1;
  for (let i = 0; i < scan; i++) {
    const c = bytes[i]!;
    if (c === 0x0a) { lf = i; break; }
    if (c === 0x0d) {
      if (i + 1 < bytes.length && bytes[i + 1] !== 0x0a) return rejected("malformed");
    } else if (c < 0x20 || c > 0x7e) {
      return rejected("malformed");
    }
  }
  if (lf < 0) return bytes.length >= V1_MAX_BYTES ? rejected("oversized") : INCOMPLETE;
  if (lf === 0 || bytes[lf - 1] !== 0x0d) return rejected("malformed");
  let line = "";
  for (let i = 0; i < lf - 1; i++) line += String.fromCharCode(bytes[i]!);
  const parts = line.split(" ");
  const length = lf + 1;
  if (parts[1] === "UNKNOWN") return { kind: "header", header: { command: "local", version: 1 }, length };
  if ((parts[1] !== "TCP4" && parts[1] !== "TCP6") || parts.length !== 6) return rejected("malformed");
  const v4 = parts[1] === "TCP4";
  const source = v1Address(parts[2]!, v4), destination = v1Address(parts[3]!, v4);
  const sourcePort = v1Port(parts[4]!), destinationPort = v1Port(parts[5]!);
  if (source === null || destination === null || sourcePort < 0 || destinationPort < 0) return rejected("malformed");
  const origin: ConnectionOrigin = { sourceAddress: source, sourcePort, destinationAddress: destination, destinationPort };
  return { kind: "header", header: { command: "proxy", version: 1, origin }, length };
}

/** Canonical text of a v1 address of the stated family, or null. */
function v1Address(text: string, v4: boolean): string | null {
  if (v4 === text.includes(":")) return null;
  const ip = ipFamilyBytes(text);
  if (ip === null || text.includes("%")) return null;
  return v4 ? ipv4Text(ip.bytes, 12) : ipv6Text(ip.bytes);
}

/** 0-65535 in decimal without leading zeros, or -1. */
function v1Port(text: string): number {
  if (!/^(?:0|[1-9]\d{0,4})$/.test(text)) return -1;
  const port = Number(text);
  return port <= 65535 ? port : -1;
}

// ---------------------------------------------------------------- v2: binary

const FAMILY_UNSPEC = 0, FAMILY_INET = 1, FAMILY_UNIX = 3;
const PROTOCOL_STREAM = 1;
/** Address block size by family (UNSPEC has none). */
const ADDRESS_BYTES = [0, 12, 36, 216];

function parseV2(bytes: Uint8Array): ProxyParse {
  if (!matchesPrefix(bytes, V2_SIGNATURE)) return rejected("malformed");
  if (bytes.length < 13) return INCOMPLETE;
  const version = bytes[12]! >> 4, command = bytes[12]! & 0x0f;
  if (version !== 2 || command > 1) return rejected("malformed");
  if (bytes.length < 14) return INCOMPLETE;
  const family = bytes[13]! >> 4, protocol = bytes[13]! & 0x0f;
  if (family > FAMILY_UNIX || protocol > 2) return rejected("malformed");
  if (bytes.length < 16) return INCOMPLETE;
  const total = 16 + ((bytes[14]! << 8) | bytes[15]!);
  if (total > V2_MAX_BYTES) return rejected("oversized");
  if (bytes.length < total) return INCOMPLETE;
  if (command === 0) return { kind: "header", header: { command: "local", version: 2 }, length: total };
  if (family === FAMILY_UNSPEC) return { kind: "header", header: { command: "local", version: 2 }, length: total };
  const addresses = 16 + ADDRESS_BYTES[family]!;
  if (addresses > total || !tlvsFit(bytes, addresses, total)) return rejected("malformed");
  // A UNIX socket or a datagram: no TCP endpoints to report; the spec says use the socket's.
  if (family === FAMILY_UNIX || protocol !== PROTOCOL_STREAM) return { kind: "header", header: { command: "local", version: 2 }, length: total };
  const v4 = family === FAMILY_INET;
  const size = v4 ? 4 : 16;
  const text = (at: number) => (v4 ? ipv4Text(bytes, at) : ipv6Text(bytes, at));
  const ports = 16 + 2 * size;
  const origin: ConnectionOrigin = {
    sourceAddress: text(16),
    destinationAddress: text(16 + size),
    sourcePort: (bytes[ports]! << 8) | bytes[ports + 1]!,
    destinationPort: (bytes[ports + 2]! << 8) | bytes[ports + 3]!,
  };
  return { kind: "header", header: { command: "proxy", version: 2, origin }, length: total };
}

/** The TLVs (type(1) length(2) value) between `from` and `end` tile it exactly. */
function tlvsFit(bytes: Uint8Array, from: number, end: number): boolean {
  let at = from;
  while (at < end) {
    if (at + 3 > end) return false;
    at += 3 + ((bytes[at + 1]! << 8) | bytes[at + 2]!);
  }
  return at === end;
}

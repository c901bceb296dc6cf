// Writes the PROXY header edgeProxy sends to a backend before the client's first byte (header.ts).
// Both endpoints IPv4 (plain or ::ffff:-mapped) → TCP4; otherwise TCP6, an IPv4 end written as
// ::ffff:a.b.c.d. An endpoint that is no IP address (never seen from a socket) → v1 UNKNOWN / v2 LOCAL.
import { ipFamilyBytes, ipv4Text, ipv6Text } from "./ip-text.ts";
import { V2_SIGNATURE, type ConnectionOrigin, type ProxyVersion } from "./header.ts";

const ascii = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0));
const V1_UNKNOWN = "PROXY UNKNOWN\r\n";

export function encodeProxyHeader(version: ProxyVersion, origin: ConnectionOrigin): Uint8Array {
  return version === "v1" ? encodeProxyV1(origin) : encodeProxyV2(origin);
}

export function encodeProxyV1(origin: ConnectionOrigin): Uint8Array {
  const ends = endpoints(origin);
  if (ends === null) return ascii(V1_UNKNOWN);
  const { v4, source, destination } = ends;
  const text = v4
    ? `PROXY TCP4 ${ipv4Text(source, 12)} ${ipv4Text(destination, 12)} ${origin.sourcePort} ${origin.destinationPort}\r\n`
    : `PROXY TCP6 ${ipv6Text(source)} ${ipv6Text(destination)} ${origin.sourcePort} ${origin.destinationPort}\r\n`;
  return ascii(text);
}

export function encodeProxyV2(origin: ConnectionOrigin): Uint8Array {
  const ends = endpoints(origin);
  if (ends === null) {
    const local = new Uint8Array(16);
    local.set(V2_SIGNATURE);
    local[12] = 0x20; // v2 LOCAL, family UNSPEC, length 0
    return local;
  }
  const { v4, source, destination } = ends;
  const size = v4 ? 4 : 16;
  const out = new Uint8Array(16 + 2 * size + 4);
  out.set(V2_SIGNATURE);
  out[12] = 0x21; // v2 PROXY
  out[13] = v4 ? 0x11 : 0x21; // INET or INET6, STREAM
  out[15] = 2 * size + 4;
  out.set(source.subarray(16 - size), 16);
  out.set(destination.subarray(16 - size), 16 + size);
  const ports = 16 + 2 * size;
  out[ports] = origin.sourcePort >> 8;
  out[ports + 1] = origin.sourcePort & 0xff;
  out[ports + 2] = origin.destinationPort >> 8;
  out[ports + 3] = origin.destinationPort & 0xff;
  return out;
}

function endpoints(origin: ConnectionOrigin): { v4: boolean; source: Uint8Array; destination: Uint8Array } | null {
  const source = ipFamilyBytes(origin.sourceAddress), destination = ipFamilyBytes(origin.destinationAddress);
  const portOk = (p: number) => Number.isInteger(p) && p >= 0 && p <= 65535;
  if (source === null || destination === null || !portOk(origin.sourcePort) || !portOk(origin.destinationPort)) return null;
  return { v4: source.v4 && destination.v4, source: source.bytes, destination: destination.bytes };
}

// 16-byte addresses (IPv4 as ::ffff:a.b.c.d) ⇄ the text sockets report: "1.2.3.4", "2001:db8::1".
import { parseIpBytes } from "../ip-key.ts";

/** True when the 16 bytes are ::ffff:a.b.c.d. */
export function isMappedIpv4(bytes: Uint8Array, at = 0): boolean {
  for (let i = 0; i < 10; i++) if (bytes[at + i] !== 0) return false;
  return bytes[at + 10] === 0xff && bytes[at + 11] === 0xff;
}

export function ipv4Text(bytes: Uint8Array, at = 0): string {
  return `${bytes[at]}.${bytes[at + 1]}.${bytes[at + 2]}.${bytes[at + 3]}`;
}

/** RFC 5952 text of 16 bytes: lower case, the longest run (2+) of zero groups as "::";
 *  ::ffff:a.b.c.d keeps its dotted tail (what Node and Deno report for mapped clients). */
export function ipv6Text(bytes: Uint8Array, at = 0): string {
  if (isMappedIpv4(bytes, at)) return `::ffff:${ipv4Text(bytes, at + 12)}`;
  const groups: number[] = [];
  for (let g = 0; g < 8; g++) groups.push((bytes[at + 2 * g]! << 8) | bytes[at + 2 * g + 1]!);
  let bestAt = -1, bestLen = 1;
  for (let g = 0; g < 8; ) {
    if (groups[g] !== 0) { g++; continue; }
    let end = g;
    while (end < 8 && groups[end] === 0) end++;
    if (end - g > bestLen) { bestAt = g; bestLen = end - g; }
    g = end;
  }
  const hex = (from: number, to: number) => groups.slice(from, to).map((v) => v.toString(16)).join(":");
  return bestAt < 0 ? hex(0, 8) : `${hex(0, bestAt)}::${hex(bestAt + bestLen, 8)}`;
}

/** The address as 16 bytes and whether it is IPv4 (plain or mapped); null when it is no IP address. */
export function ipFamilyBytes(ip: string): { readonly v4: boolean; readonly bytes: Uint8Array } | null {
  const bytes = new Uint8Array(16);
  if (!parseIpBytes(ip, bytes)) return null;
  return { v4: isMappedIpv4(bytes), bytes };
}

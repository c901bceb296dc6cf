// A client's 16-byte key for the token-bucket table: its IPv6 address, or an IPv4 address as
// ::ffff:a.b.c.d (so "1.2.3.4" and "::ffff:1.2.3.4" are one client, as in client-ip.ts). Written into
// a caller-owned buffer without allocating. Anything else (never seen from a socket) is hashed into
// ff00::/8, a multicast range no TCP client can come from, so it can never equal a real address.

const groups = new Uint16Array(8);
const tail = new Uint8Array(4);

function parseIpv4(ip: string, start: number, end: number, out: Uint8Array, at: number): boolean {
  let part = 0, value = -1;
  for (let i = start; i <= end; i++) {
    const c = i < end ? ip.charCodeAt(i) : 46; // a final '.' closes the last part
    if (c >= 48 && c <= 57) {
      value = value < 0 ? c - 48 : value * 10 + (c - 48);
      if (value > 255) return false;
    } else if (c === 46 && value >= 0 && part < 4) {
      out[at + part++] = value;
      value = -1;
    } else {
      return false;
    }
  }
  return part === 4;
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

function parseIpv6(ip: string, end: number, out: Uint8Array, at: number): boolean {
  let count = 0, gap = -1, i = 0;
  if (ip.charCodeAt(0) === 58) {
    if (ip.charCodeAt(1) !== 58) return false;
    gap = 0;
    i = 2;
  }
  while (i < end) {
    let value = 0, digits = 0, j = i;
    for (; j < end && digits <= 4; j++) {
      const d = hexDigit(ip.charCodeAt(j));
      if (d < 0) break;
      value = value * 16 + d;
      digits++;
    }
    if (j < end && ip.charCodeAt(j) === 46) {
      // Embedded IPv4 tail, e.g. 64:ff9b::192.0.2.1: two groups.
      if (count > 6) return false;
      if (!parseIpv4(ip, i, end, tail, 0)) return false;
      groups[count++] = (tail[0]! << 8) | tail[1]!;
      groups[count++] = (tail[2]! << 8) | tail[3]!;
      i = end;
      break;
    }
    if (digits === 0 || digits > 4 || count === 8) return false;
    groups[count++] = value;
    if (j === end) { i = end; break; }
    if (ip.charCodeAt(j) !== 58) return false;
    if (ip.charCodeAt(j + 1) === 58) {
      if (gap >= 0) return false;
      gap = count;
      i = j + 2;
    } else {
      i = j + 1;
      if (i === end) return false;
    }
  }
  if (gap < 0 ? count !== 8 : count > 7) return false;
  const fill = 8 - count;
  for (let g = 0, k = 0; g < 8; g++) {
    const value = gap >= 0 && g >= gap && g < gap + fill ? 0 : groups[k++]!;
    out[at + 2 * g] = value >>> 8;
    out[at + 2 * g + 1] = value & 0xff;
  }
  return true;
}

function hashInto(ip: string, out: Uint8Array, at: number): void {
  out[at] = 0xff;
  out[at + 1] = 0x00;
  for (let word = 0; word < 4; word++) {
    let h = (0x811c9dc5 ^ Math.imul(word + 1, 0x9e3779b9)) >>> 0;
    for (let i = 0; i < ip.length; i++) h = Math.imul(h ^ ip.charCodeAt(i), 0x01000193);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    h ^= h >>> 12;
    for (let b = 0; b < (word === 0 ? 2 : 4); b++) out[at + (word === 0 ? 2 : 4 * word) + b] = (h >>> (8 * b)) & 0xff;
  }
}

/** Writes the 16-byte key of `ip` at out[at..at+16). */
export function encodeIpKey(ip: string, out: Uint8Array, at = 0): void {
  const zone = ip.indexOf("%");
  const end = zone >= 0 ? zone : ip.length;
  if (ip.indexOf(":") < 0) {
    for (let i = 0; i < 10; i++) out[at + i] = 0;
    out[at + 10] = 0xff;
    out[at + 11] = 0xff;
    if (end > 0 && parseIpv4(ip, 0, end, out, at + 12)) return;
  } else if (end > 1 && parseIpv6(ip, end, out, at)) {
    return;
  }
  hashInto(ip, out, at);
}

/** Writes the 16 bytes of an IPv6 address, or of an IPv4 one as ::ffff:a.b.c.d, at out[0..16);
 *  false when `ip` is neither (no hashing: for CIDR matching and PROXY headers). */
export function parseIpBytes(ip: string, out: Uint8Array): boolean {
  const zone = ip.indexOf("%");
  const end = zone >= 0 ? zone : ip.length;
  if (ip.indexOf(":") < 0) {
    out.fill(0, 0, 10);
    out[10] = 0xff;
    out[11] = 0xff;
    return end > 0 && parseIpv4(ip, 0, end, out, 12);
  }
  return end > 1 && parseIpv6(ip, end, out, 0);
}

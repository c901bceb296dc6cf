// Textual IP address → bytes, without allocating (it runs on every uncached GeoIP lookup).

/**
 * Parses `text` into `out` (16 bytes): returns 4 for IPv4 (out[0..3]), 16 for IPv6, 0 when `text` is
 * not an address. An IPv4-mapped IPv6 address (::ffff:a.b.c.d) comes back as IPv4. Zone ids
 * (fe80::1%eth0) are refused: a link-local address is in no GeoIP database.
 */
export function parseIpAddress(text: string, out: Uint8Array): 0 | 4 | 16 {
  if (text.includes(":")) return parseIPv6(text, out);
  return parseIPv4(text, 0, text.length, out, 0) ? 4 : 0;
}

/** Dotted quad text[from, to) → out[at..at+3]; false when it is not exactly one. */
function parseIPv4(text: string, from: number, to: number, out: Uint8Array, at: number): boolean {
  let part = 0, value = 0, digits = 0;
  for (let i = from; i <= to; i++) {
    const c = i < to ? text.charCodeAt(i) : 0x2e; // a virtual "." closes the last part
    if (c >= 0x30 && c <= 0x39) {
      if (digits > 0 && value === 0) return false; // no leading zeros (they read as octal elsewhere)
      value = value * 10 + (c - 0x30);
      if (++digits > 3 || value > 255) return false;
    } else if (c === 0x2e) {
      if (digits === 0 || part > 3) return false;
      out[at + part++] = value;
      (value = 0), (digits = 0);
    } else return false;
  }
  return part === 4;
}

function parseIPv6(text: string, out: Uint8Array): 0 | 4 | 16 {
  const end = text.length;
  let groups = 0; // 16-bit groups written
  let gap = -1; // groups before "::", once seen
  let i = 0;
  if (text.startsWith("::")) (gap = 0), (i = 2);
  while (i < end) {
    let value = 0, digits = 0, j = i;
    for (; j < end; j++) {
      const c = text.charCodeAt(j);
      const hex = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
      if (hex < 0) break;
      value = value * 16 + hex;
      digits++;
    }
    if (j < end && text.charCodeAt(j) === 0x2e) {
      // a dotted IPv4 tail: the last 32 bits
      if (groups > 6 || !parseIPv4(text, i, end, out, groups * 2)) return 0;
      (groups += 2), (i = end);
      break;
    }
    if (digits === 0 || digits > 4 || groups === 8) return 0;
    out[groups * 2] = value >> 8;
    out[groups * 2 + 1] = value & 255;
    groups++;
    if (j === end) break;
    if (text.charCodeAt(j) !== 0x3a) return 0; // "%zone" or any other character
    if (j + 1 < end && text.charCodeAt(j + 1) === 0x3a) {
      if (gap >= 0) return 0; // a second "::"
      (gap = groups), (i = j + 2);
    } else {
      if (j + 1 === end) return 0; // a trailing single ":"
      i = j + 1;
    }
  }
  if (gap < 0 ? groups !== 8 : groups > 7) return 0;
  if (gap >= 0) {
    // move the groups after "::" to the end, zeros in between
    const tail = (groups - gap) * 2;
    out.copyWithin(16 - tail, gap * 2, groups * 2);
    out.fill(0, gap * 2, 16 - tail);
  }
  // ::ffff:a.b.c.d is IPv4
  for (let k = 0; k < 10; k++) if (out[k] !== 0) return 16;
  if (out[10] !== 0xff || out[11] !== 0xff) return 16;
  out.copyWithin(0, 12, 16);
  return 4;
}

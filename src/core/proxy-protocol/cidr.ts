// The addresses allowed to send a PROXY header (EDGEPROXY_PROXY_PROTOCOL_TRUSTED): IPv4 and IPv6
// CIDRs, matched in one 16-byte space (IPv4 as ::ffff:a.b.c.d, so a mapped client matches a v4 block).
import { parseIpBytes } from "../ip-key.ts";

interface Block {
  readonly bytes: Uint8Array;
  /** Prefix length in the 128-bit space (an IPv4 /n is 96 + n). */
  readonly bits: number;
}

export class CidrSet {
  readonly #blocks: readonly Block[];
  readonly #scratch = new Uint8Array(16);

  readonly text: readonly string[];
  private constructor(blocks: Block[], text: readonly string[]) {
    this.text = text;
    this.#blocks = blocks;
  }

  /** Comma-separated "10.0.0.0/8, 2001:db8::/32, 192.0.2.7" (a bare address is /32 or /128).
   *  Throws an Error naming the bad entry and the accepted form. */
  static parse(list: string): CidrSet {
    const blocks: Block[] = [], text: string[] = [];
    for (const raw of list.split(",")) {
      const entry = raw.trim();
      if (entry === "") continue;
      blocks.push(parseBlock(entry));
      text.push(entry);
    }
    return new CidrSet(blocks, text);
  }

  get size(): number {
    return this.#blocks.length;
  }

  /** True when `ip` lies in one of the blocks; false for anything that is no IP address. */
  contains(ip: string): boolean {
    const bytes = this.#scratch;
    if (!parseIpBytes(ip, bytes)) return false;
    for (const block of this.#blocks) if (inBlock(bytes, block)) return true;
    return false;
  }
}

function parseBlock(entry: string): Block {
  const slash = entry.indexOf("/");
  const address = slash < 0 ? entry : entry.slice(0, slash);
  const v4 = !address.includes(":");
  const max = v4 ? 32 : 128;
  const form = `expected IPv4 or IPv6 CIDRs like 10.0.0.0/8 or 2001:db8::/32, got "${entry}"`;
  const prefix = slash < 0 ? String(max) : entry.slice(slash + 1);
  const bytes = new Uint8Array(16);
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > max || address.includes("%") || !parseIpBytes(address, bytes)) throw new Error(form);
  const bits = Number(prefix) + (v4 ? 96 : 0);
  const block = { bytes, bits };
  // Host bits set ("10.1.2.3/8") usually means a typo in the prefix: refuse rather than guess.
  const network = new Uint8Array(16);
  for (let i = 0; i < 16; i++) network[i] = bytes[i]! & maskByte(bits, i);
  if (!network.every((b, i) => b === bytes[i])) throw new Error(`${form} (host bits set: the network address is needed)`);
  return block;
}

function maskByte(bits: number, index: number): number {
  const left = bits - 8 * index;
  return left >= 8 ? 0xff : left <= 0 ? 0 : (0xff << (8 - left)) & 0xff;
}

function inBlock(bytes: Uint8Array, block: Block): boolean {
  for (let i = 0; i < 16; i++) {
    const mask = maskByte(block.bits, i);
    if (mask === 0) return true;
    if ((bytes[i]! & mask) !== block.bytes[i]) return false;
  }
  return true;
}

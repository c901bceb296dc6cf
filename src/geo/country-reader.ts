// Reads one field of a MaxMind DB record, `country.iso_code`, without decoding the rest. Routing
// needs nothing else, and a full decode of a GeoLite2-City record (names in eight languages for the
// city, continent, countries and subdivisions) is what made uncached lookups cost 40-170 µs.
// mmdb-lib (which @maxmind/geoip2-node is built on) has no partial decode either: its get() took
// ~60 µs per City-shaped record here. This walks the search tree, then skips over every map entry
// but `country` by its header alone (a pointer or a string is skipped in O(1)).
// The file was checked whole by checkMmdb (mmdb-check.ts) first: every tree record points inside the
// data section and every value there is well-formed, so this reader does no bounds checks of its own.
// Format: https://maxmind.github.io/MaxMind-DB/ (drawing in test/fixtures/mmdb-writer.ts).
import type { MmdbInfo } from "./mmdb-check.ts";
import { parseIpAddress } from "./ip-address.ts";

/** `country.iso_code` as two char codes (c0 << 8 | c1), or NO_COUNTRY. */
export type CountryCode = number;
export const NO_COUNTRY: CountryCode = -1;

const TYPE_POINTER = 1, TYPE_STRING = 2, TYPE_MAP = 7, TYPE_ARRAY = 11, TYPE_BOOLEAN = 14;
const COUNTRY = [..."country"].map((c) => c.charCodeAt(0));
const ISO_CODE = [..."iso_code"].map((c) => c.charCodeAt(0));

export class CountryReader {
  readonly #db: Uint8Array;
  readonly #nodeCount: number;
  readonly #recordSize: 24 | 28 | 32;
  readonly #dataBase: number; // file offset of the data section (pointers count from here)
  readonly #ipv4Start: number; // record reached by the 96 zero bits of ::a.b.c.d (a node, or already data)
  readonly #ipv6: boolean;
  readonly #bytes = new Uint8Array(16); // the address being looked up (reused: no allocation per lookup)
  #next = 0; // where #size left off (a field, not a returned tuple: nothing allocated per value)

  constructor(db: Uint8Array, info: MmdbInfo) {
    this.#db = db;
    this.#nodeCount = info.nodeCount;
    this.#recordSize = info.recordSize;
    this.#dataBase = (info.nodeCount * info.recordSize) / 4 + 16;
    this.#ipv6 = info.ipVersion === 6;
    let node = 0;
    if (this.#ipv6) for (let i = 0; i < 96 && node < this.#nodeCount; i++) node = this.#record(node, 0);
    this.#ipv4Start = node;
  }

  /** Country of `ip` (textual IPv4 or IPv6); NO_COUNTRY when unknown, not in the file or not an address. */
  country(ip: string): CountryCode {
    const length = parseIpAddress(ip, this.#bytes);
    if (length === 0) return NO_COUNTRY;
    let node: number;
    let bits: number;
    if (length === 4) {
      (node = this.#ipv4Start), (bits = 32);
    } else {
      if (!this.#ipv6) return NO_COUNTRY;
      (node = 0), (bits = 128);
    }
    const nodeCount = this.#nodeCount;
    const bytes = this.#bytes;
    for (let i = 0; i < bits && node < nodeCount; i++) node = this.#record(node, (bytes[i >> 3]! >> (7 - (i & 7))) & 1);
    if (node <= nodeCount) return NO_COUNTRY; // "no data" (== nodeCount), or the address ran out first
    return this.#countryOf(this.#dataBase + node - nodeCount - 16);
  }

  /** Left (bit 0) or right (bit 1) record of a search-tree node. */
  #record(node: number, bit: number): number {
    const db = this.#db;
    switch (this.#recordSize) {
      case 24: {
        const at = node * 6 + bit * 3;
        return (db[at]! << 16) | (db[at + 1]! << 8) | db[at + 2]!;
      }
      case 28: {
        const at = node * 7;
        return bit === 0
          ? ((db[at + 3]! & 0xf0) << 20) | (db[at]! << 16) | (db[at + 1]! << 8) | db[at + 2]!
          : ((db[at + 3]! & 0x0f) << 24) | (db[at + 4]! << 16) | (db[at + 5]! << 8) | db[at + 6]!;
      }
      default: {
        const at = node * 8 + bit * 4;
        return ((db[at]! << 24) >>> 0) + ((db[at + 1]! << 16) | (db[at + 2]! << 8) | db[at + 3]!);
      }
    }
  }

  /** The record at `at` → its country.iso_code. */
  #countryOf(at: number): CountryCode {
    const country = this.#mapValue(this.#resolve(at), COUNTRY);
    if (country < 0) return NO_COUNTRY;
    const iso = this.#mapValue(this.#resolve(country), ISO_CODE);
    if (iso < 0) return NO_COUNTRY;
    const db = this.#db;
    const value = this.#resolve(iso);
    if (db[value] !== ((TYPE_STRING << 5) | 2)) return NO_COUNTRY; // a 2-byte utf8_string
    return (upper(db[value + 1]!) << 8) | upper(db[value + 2]!);
  }

  /** Where the value for `key` starts in the map at `at`; -1 when `at` is not a map or lacks the key. */
  #mapValue(at: number, key: readonly number[]): number {
    const db = this.#db;
    const ctrl = db[at]!;
    if (ctrl >> 5 !== TYPE_MAP) return -1;
    let size = this.#size(ctrl, at + 1);
    let p = this.#next;
    for (; size > 0; size--) {
      const matches = this.#isKey(this.#resolve(p), key);
      p = this.#skip(p);
      if (matches) return p;
      p = this.#skip(p);
    }
    return -1;
  }

  /** Is the string at `at` exactly `key`? (Compared as bytes: keys are ASCII.) */
  #isKey(at: number, key: readonly number[]): boolean {
    const db = this.#db;
    if (db[at] !== ((TYPE_STRING << 5) | key.length)) return false;
    for (let i = 0; i < key.length; i++) if (db[at + 1 + i] !== key[i]) return false;
    return true;
  }

  /** Follows a pointer (never to another pointer: checkMmdb refused those); any other value stays. */
  #resolve(at: number): number {
    const db = this.#db;
    const ctrl = db[at]!;
    if (ctrl >> 5 !== TYPE_POINTER) return at;
    const size = (ctrl >> 3) & 3; // 001SSVVV
    let v: number;
    if (size === 0) v = ((ctrl & 7) << 8) | db[at + 1]!;
    else if (size === 1) v = 2048 + (((ctrl & 7) << 16) | (db[at + 1]! << 8) | db[at + 2]!);
    else if (size === 2) v = 526_336 + (((ctrl & 7) << 24) | (db[at + 1]! << 16) | (db[at + 2]! << 8) | db[at + 3]!);
    else v = db[at + 1]! * 2 ** 24 + ((db[at + 2]! << 16) | (db[at + 3]! << 8) | db[at + 4]!);
    return this.#dataBase + v;
  }

  /** Offset just past the value at `at` (a pointer is skipped, not followed). */
  #skip(at: number): number {
    const db = this.#db;
    const ctrl = db[at]!;
    let type = ctrl >> 5;
    if (type === TYPE_POINTER) return at + ((ctrl >> 3) & 3) + 2;
    let p = at + 1;
    if (type === 0) type = 7 + db[p++]!; // extended type
    const size = this.#size(ctrl, p);
    const next = this.#next;
    if (type === TYPE_MAP) {
      let q = next;
      for (let i = 0; i < size * 2; i++) q = this.#skip(q);
      return q;
    }
    if (type === TYPE_ARRAY) {
      let q = next;
      for (let i = 0; i < size; i++) q = this.#skip(q);
      return q;
    }
    return type === TYPE_BOOLEAN ? next : next + size; // a boolean's size is its value
  }

  /** Payload size from the control byte and the size bytes after it (from `p`); #next: the payload. */
  #size(ctrl: number, p: number): number {
    const db = this.#db;
    const size = ctrl & 31;
    if (size < 29) return (this.#next = p), size;
    if (size === 29) return (this.#next = p + 1), 29 + db[p]!;
    if (size === 30) return (this.#next = p + 2), 285 + ((db[p]! << 8) | db[p + 1]!);
    return (this.#next = p + 3), 65_821 + ((db[p]! << 16) | (db[p + 1]! << 8) | db[p + 2]!);
  }
}

const upper = (c: number): number => (c >= 0x61 && c <= 0x7a ? c - 0x20 : c);

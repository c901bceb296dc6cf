// Checks a whole MaxMind DB before it is used, so a broken file is refused at start instead of failing
// one client lookup at a time (the reader checks almost nothing: it reads a 3-byte double as 8 bytes).
// Every search-tree record is checked and every data record it points to is decoded strictly once.
// Layout reminder (see test/fixtures/mmdb-writer.ts for the drawing):
//   [search tree: node_count × 2 records][16 × 0x00][data section]["\xAB\xCD\xEFMaxMind.com"][metadata map]

export interface MmdbInfo {
  readonly databaseType: string;
  readonly ipVersion: 4 | 6;
  readonly recordSize: 24 | 28 | 32;
  readonly nodeCount: number;
  /** Seconds since the Unix epoch. */
  readonly buildEpochSecs: number;
  readonly description: string | null;
}

/** The bytes are not a usable MaxMind DB; the message says where and what. */
export class GeoDatabaseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GeoDatabaseError";
  }
}

const MARKER = [0xab, 0xcd, 0xef, ...Array.from("MaxMind.com", (c) => c.charCodeAt(0))];
const METADATA_MAX = 128 * 1024;
const MAX_DEPTH = 32;
const TYPE_NAMES = ["extended", "pointer", "utf8_string", "double", "bytes", "uint16", "uint32", "map", "int32", "uint64", "uint128", "array", "container", "end_marker", "boolean", "float"] as const;
/** Largest payload, in bytes, each numeric type may have (undefined: no fixed bound). */
const MAX_SIZE: Readonly<Record<number, number>> = { 3: 8, 5: 2, 6: 4, 8: 4, 9: 8, 10: 16, 14: 1, 15: 4 };
const EXACT_SIZE: Readonly<Record<number, number>> = { 3: 8, 15: 4 };

/** A strict decoder over one section ([base, end) of the file); pointers are relative to base. */
class Section {
  readonly #checked: Uint8Array; // one bit per offset: value already checked (records are shared)
  readonly bytes: Uint8Array;
  readonly base: number;
  readonly end: number;
  readonly name: string;
  constructor(bytes: Uint8Array, base: number, end: number, name: string) {
    this.bytes = bytes;
    this.base = base;
    this.end = end;
    this.name = name;
    this.#checked = new Uint8Array(((end - base) >> 3) + 1);
  }

  fail(at: number, what: string): never {
    throw new GeoDatabaseError(`${this.name} at byte ${at}: ${what}`);
  }

  #byte(at: number): number {
    if (at >= this.end) this.fail(at, "value runs past the end of the section (truncated or corrupt)");
    return this.bytes[at]!;
  }

  #uint(at: number, n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 256 + this.#byte(at + i);
    return v;
  }

  /** Checks the value at relative `offset` once, however many records share it. */
  checkAt(offset: number, depth = 0): void {
    if (offset < 0 || offset >= this.end - this.base) this.fail(this.base + offset, `points outside the ${this.name}`);
    const bit = 1 << (offset & 7);
    if (this.#checked[offset >> 3]! & bit) return;
    this.read(this.base + offset, depth, false); // marked only once complete, so a pointer loop hits MAX_DEPTH
    this.#checked[offset >> 3]! |= bit;
  }

  /** Decodes the value at absolute `at`; returns it (when `build`) and the offset after it. */
  read(at: number, depth: number, build: boolean): { value: unknown; next: number } {
    if (depth > MAX_DEPTH) this.fail(at, `values nested deeper than ${MAX_DEPTH} (pointer loop?)`);
    const ctrl = this.#byte(at);
    let p = at + 1;
    let type = ctrl >> 5;
    if (type === 1) {
      const { target, next } = this.#pointer(at, ctrl);
      if (this.#typeAt(target) === 1) this.fail(at, "pointer to a pointer");
      const value = build ? this.read(target, depth + 1, true).value : (this.checkAt(target - this.base, depth + 1), undefined);
      return { value, next };
    }
    if (type === 0) {
      type = 7 + this.#byte(p++);
      if (type < 8 || type > 15) this.fail(at, `unknown extended type ${type}`);
    }
    let size = ctrl & 31;
    if (size === 29) size = 29 + this.#uint(p++, 1);
    else if (size === 30) (size = 285 + this.#uint(p, 2)), (p += 2);
    else if (size === 31) (size = 65_821 + this.#uint(p, 3)), (p += 3);
    const name = TYPE_NAMES[type]!;
    if (EXACT_SIZE[type] !== undefined && size !== EXACT_SIZE[type]) this.fail(at, `${name} of ${size} bytes (must be ${EXACT_SIZE[type]})`);
    if (MAX_SIZE[type] !== undefined && size > MAX_SIZE[type]!) this.fail(at, `${name} of ${size} bytes (at most ${MAX_SIZE[type]})`);
    switch (type) {
      case 7: {
        const map: Record<string, unknown> = {};
        for (let i = 0; i < size; i++) {
          const keyType = this.#keyType(p);
          if (keyType !== 2) this.fail(p, `map key is a ${TYPE_NAMES[keyType]}, not a utf8_string`);
          const key = this.read(p, depth + 1, build);
          const value = this.read(key.next, depth + 1, build);
          if (build) map[key.value as string] = value.value;
          p = value.next;
        }
        return { value: build ? map : undefined, next: p };
      }
      case 11: {
        const list: unknown[] = [];
        for (let i = 0; i < size; i++) {
          const item = this.read(p, depth + 1, build);
          if (build) list.push(item.value);
          p = item.next;
        }
        return { value: build ? list : undefined, next: p };
      }
      case 12:
      case 13:
        return this.fail(at, `${name} is not allowed in a data record`);
      case 14:
        return { value: size === 1, next: p };
    }
    if (p + size > this.end) this.fail(at, `${name} of ${size} bytes runs past the end of the ${this.name} (truncated?)`);
    let value: unknown;
    if (build) {
      if (type === 2) value = new TextDecoder().decode(this.bytes.subarray(p, p + size));
      else if (type === 5 || type === 6 || type === 9 || type === 10) value = this.#uint(p, size);
      else value = this.bytes.subarray(p, p + size); // double/float/int32/bytes: metadata does not use them
    }
    return { value, next: p + size };
  }

  /** Pointer at `at`: absolute position of its target (checked to lie in the section) and of what follows it. */
  #pointer(at: number, ctrl: number): { target: number; next: number } {
    const size = (ctrl >> 3) & 3; // 001SSVVV: SS = extra bytes - 1, VVV = high bits (unused when SS = 3)
    const packed = size === 3 ? this.#uint(at + 1, 4) : (ctrl & 7) * 256 ** (size + 1) + this.#uint(at + 1, size + 1);
    const relative = packed + [0, 2048, 526_336, 0][size]!;
    if (relative >= this.end - this.base) this.fail(at, `pointer to ${relative} leaves the ${this.name}`);
    return { target: this.base + relative, next: at + size + 2 };
  }

  #typeAt(at: number): number {
    const type = this.#byte(at) >> 5;
    return type === 0 ? 7 + this.#byte(at + 1) : type;
  }

  /** Type of a map key, looking through one pointer (keys are usually pointers to shared strings). */
  #keyType(at: number): number {
    const ctrl = this.#byte(at);
    return ctrl >> 5 === 1 ? this.#typeAt(this.#pointer(at, ctrl).target) : this.#typeAt(at);
  }
}

function findMarker(bytes: Uint8Array): number {
  const stop = Math.max(0, bytes.length - METADATA_MAX - MARKER.length);
  outer: for (let at = bytes.length - MARKER.length; at >= stop; at--) {
    for (let i = 0; i < MARKER.length; i++) if (bytes[at + i] !== MARKER[i]) continue outer;
    return at;
  }
  throw new GeoDatabaseError('no MaxMind DB metadata ("\\xAB\\xCD\\xEFMaxMind.com") in the last 128 KiB: not a .mmdb file, or truncated');
}

function metadataNumber(meta: Record<string, unknown>, key: string, allowed?: readonly number[]): number {
  const v = meta[key];
  if (typeof v !== "number" || !Number.isInteger(v) || (allowed !== undefined && !allowed.includes(v))) {
    throw new GeoDatabaseError(`metadata ${key}: expected ${allowed ? allowed.join(" or ") : "an unsigned integer"}, got ${JSON.stringify(v) ?? "nothing"}`);
  }
  return v;
}

/** Reads the metadata and checks the whole file; throws GeoDatabaseError on the first problem. */
export function checkMmdb(bytes: Uint8Array): MmdbInfo {
  if (bytes.length === 0) throw new GeoDatabaseError("the file is empty");
  const marker = findMarker(bytes);
  const metaStart = marker + MARKER.length;
  const meta = new Section(bytes, metaStart, bytes.length, "metadata").read(metaStart, 0, true).value;
  if (typeof meta !== "object" || meta === null || Array.isArray(meta)) throw new GeoDatabaseError("metadata is not a map");
  const m = meta as Record<string, unknown>;
  metadataNumber(m, "binary_format_major_version", [2]);
  const nodeCount = metadataNumber(m, "node_count");
  const recordSize = metadataNumber(m, "record_size", [24, 28, 32]) as 24 | 28 | 32;
  const ipVersion = metadataNumber(m, "ip_version", [4, 6]) as 4 | 6;
  if (typeof m.database_type !== "string") throw new GeoDatabaseError("metadata database_type: expected text");

  const nodeBytes = recordSize / 4;
  const treeSize = nodeCount * nodeBytes;
  if (nodeCount < 1 || treeSize + 16 > marker) {
    throw new GeoDatabaseError(`search tree of ${nodeCount} nodes (${treeSize} bytes) does not fit before the metadata at byte ${marker}: node_count is wrong or the file is truncated`);
  }
  for (let i = treeSize; i < treeSize + 16; i++) {
    if (bytes[i] !== 0) throw new GeoDatabaseError(`byte ${i} of the 16-byte separator after the search tree is not zero: node_count or record_size is wrong`);
  }

  const data = new Section(bytes, treeSize + 16, marker, "data section");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const checkRecord = (node: number, value: number) => {
    if (value <= nodeCount) return; // another node, or "no data"
    if (value < nodeCount + 16) throw new GeoDatabaseError(`search tree node ${node} points into the separator (record ${value})`);
    data.checkAt(value - nodeCount - 16);
  };
  for (let node = 0, at = 0; node < nodeCount; node++, at += nodeBytes) {
    if (recordSize === 24) {
      checkRecord(node, (bytes[at]! << 16) | (bytes[at + 1]! << 8) | bytes[at + 2]!);
      checkRecord(node, (bytes[at + 3]! << 16) | (bytes[at + 4]! << 8) | bytes[at + 5]!);
    } else if (recordSize === 28) {
      const middle = bytes[at + 3]!;
      checkRecord(node, ((middle & 0xf0) << 20) | (bytes[at]! << 16) | (bytes[at + 1]! << 8) | bytes[at + 2]!);
      checkRecord(node, ((middle & 0x0f) << 24) | (bytes[at + 4]! << 16) | (bytes[at + 5]! << 8) | bytes[at + 6]!);
    } else {
      checkRecord(node, view.getUint32(at));
      checkRecord(node, view.getUint32(at + 4));
    }
  }

  const description = m.description as Record<string, unknown> | undefined;
  return {
    databaseType: m.database_type,
    ipVersion,
    recordSize,
    nodeCount,
    buildEpochSecs: typeof m.build_epoch === "number" ? m.build_epoch : 0,
    description: typeof description?.en === "string" ? description.en : null,
  };
}

import type { Data, RecordBatch } from 'apache-arrow';
import type { LogicalType } from '@chainlake/schema';

const TWO_32 = 4294967296;
/** High words within ±2^21 keep an int64 within ±2^53, where a double is exact. */
const SAFE_HI = 0x200000;

/**
 * Typed, allocation-free access to one column of one record batch. Values are read straight from
 * the Arrow buffers: int64/timestamp through an Int32 view of the BigInt64 buffer (BigInt only for
 * values beyond ±2^53), uint256 decimal strings parsed from their UTF-8 bytes (BigInt only beyond
 * 15 digits), strings decoded only where a key is needed.
 */
export class ColumnReader {
  readonly length: number;
  private readonly nullBitmap: Uint8Array | null;
  private readonly offset: number;
  private readonly words: Int32Array | null = null;
  private readonly bigints: BigInt64Array | null = null;
  private readonly ints: Int32Array | null = null;
  private readonly bytes: Uint8Array | null = null;
  private readonly offsets: Int32Array | null = null;
  private readonly buffer: Buffer | null = null;

  constructor(
    data: Data,
    readonly type: LogicalType,
    readonly name: string,
  ) {
    this.length = data.length;
    this.offset = data.offset;
    this.nullBitmap = data.nullCount > 0 && data.nullBitmap ? data.nullBitmap : null;
    const values = data.values as unknown;
    switch (type) {
      case 'int64':
      case 'timestamp': {
        const v = values as BigInt64Array;
        this.bigints = v;
        this.words = new Int32Array(v.buffer, v.byteOffset, v.length * 2);
        break;
      }
      case 'int32':
        this.ints = values as Int32Array;
        break;
      case 'bool':
        this.bytes = values as Uint8Array;
        break;
      default: {
        const v = values as Uint8Array;
        this.bytes = v;
        this.offsets = data.valueOffsets as Int32Array;
        this.buffer = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
      }
    }
  }

  static of(batch: RecordBatch, name: string, type: LogicalType): ColumnReader {
    const index = batch.schema.fields.findIndex((f) => f.name === name);
    if (index < 0) throw new Error(`record batch has no column "${name}"`);
    return new ColumnReader(batch.data.children[index], type, name);
  }

  get hasNulls(): boolean {
    return this.nullBitmap !== null;
  }

  isNull(i: number): boolean {
    const bitmap = this.nullBitmap;
    if (bitmap === null) return false;
    const bit = this.offset + i;
    return (bitmap[bit >> 3] & (1 << (bit & 7))) === 0;
  }

  /** int32 / int64 / timestamp (µs) / uint256 value; a number when exact, else a bigint. */
  num(i: number): number | bigint {
    const words = this.words;
    if (words !== null) {
      const hi = words[2 * i + 1];
      if (hi < SAFE_HI && hi >= -SAFE_HI) return hi * TWO_32 + (words[2 * i] >>> 0);
      return this.bigints![i];
    }
    if (this.ints !== null) return this.ints[i];
    const offsets = this.offsets!;
    const start = offsets[i];
    const end = offsets[i + 1];
    if (end - start <= 15) {
      const bytes = this.bytes!;
      let v = 0;
      for (let j = start; j < end; j++) v = v * 10 + (bytes[j] - 48);
      return v;
    }
    return BigInt(this.buffer!.toString('latin1', start, end));
  }

  /** A float64 approximation of num(i) (for avg/stddev/sketches). */
  float(i: number): number {
    const words = this.words;
    if (words !== null) return words[2 * i + 1] * TWO_32 + (words[2 * i] >>> 0);
    if (this.ints !== null) return this.ints[i];
    const offsets = this.offsets!;
    const start = offsets[i];
    const end = offsets[i + 1];
    const bytes = this.bytes!;
    if (end - start <= 15) {
      let v = 0;
      for (let j = start; j < end; j++) v = v * 10 + (bytes[j] - 48);
      return v;
    }
    return Number(this.buffer!.toString('latin1', start, end));
  }

  bool(i: number): boolean {
    const bit = this.offset + i;
    return (this.bytes![bit >> 3] & (1 << (bit & 7))) !== 0;
  }

  /** The value as a string key (group keys, exact distinct counts). */
  key(i: number): string {
    switch (this.type) {
      case 'int64':
      case 'timestamp':
      case 'int32':
        return String(this.num(i));
      case 'bool':
        return this.bool(i) ? 'true' : 'false';
      case 'string':
        return this.buffer!.toString('utf8', this.offsets![i], this.offsets![i + 1]);
      default:
        return this.buffer!.toString('latin1', this.offsets![i], this.offsets![i + 1]);
    }
  }

  /**
   * `key(i) + suffix` for a hex or string value, taken from `interned` when it holds it (looked up
   * by hash, confirmed byte by byte), so that a column of a few recurring values builds no string per row.
   */
  internedKey(i: number, suffix: string, interned: Map<number, string>): string {
    const offsets = this.offsets!;
    const bytes = this.bytes!;
    const start = offsets[i];
    const len = offsets[i + 1] - start;
    const h = hashBytes(bytes, start, offsets[i + 1]);
    const known = interned.get(h);
    if (known !== undefined && known.length === len + suffix.length) {
      let same = true;
      for (let j = 0; j < len; j++) {
        // Only ASCII bytes are their own characters in both encodings.
        if (known.charCodeAt(j) !== bytes[start + j] || bytes[start + j] >= 0x80) {
          same = false;
          break;
        }
      }
      if (same) return known;
    }
    const key = this.key(i) + suffix;
    if (interned.size >= 65536) interned.clear();
    interned.set(h, key);
    return key;
  }

  /** The value as it appears in a result's group: int64 as a decimal string, timestamps as ISO. */
  groupValue(i: number): string | number | boolean | null {
    if (this.isNull(i)) return null;
    switch (this.type) {
      case 'int32':
        return this.ints![i];
      case 'bool':
        return this.bool(i);
      case 'timestamp':
        return new Date(Math.floor(this.float(i) / 1000)).toISOString();
      default:
        return this.key(i);
    }
  }

  /** A 53-bit hash of the value, for HyperLogLog. Equal values hash equally within one column type. */
  hash(i: number): number {
    if (this.words !== null) return hashWords(this.words[2 * i], this.words[2 * i + 1]);
    if (this.ints !== null) return hashWords(this.ints[i], 0);
    if (this.offsets === null) return hashWords(this.bool(i) ? 1 : 0, 0);
    return hashBytes(this.bytes!, this.offsets[i], this.offsets[i + 1]);
  }

  /**
   * Compares the value with a literal prepared by {@link prepareLiteral}: negative, zero or positive.
   * uint256 strings compare by length then bytes (canonical decimals have no leading zeros).
   */
  compare(i: number, literal: number | bigint | string | Uint8Array | boolean): number {
    switch (this.type) {
      case 'bool':
        return Number(this.bool(i)) - Number(literal as boolean);
      case 'uint256': {
        const lit = literal as Uint8Array;
        const offsets = this.offsets!;
        const start = offsets[i];
        const len = offsets[i + 1] - start;
        if (len !== lit.length) return len - lit.length;
        const bytes = this.bytes!;
        for (let j = 0; j < len; j++) {
          const d = bytes[start + j] - lit[j];
          if (d !== 0) return d;
        }
        return 0;
      }
      case 'hex':
      case 'string': {
        const s = this.key(i);
        const lit = literal as string;
        return s < lit ? -1 : s > lit ? 1 : 0;
      }
      default: {
        const v = this.num(i);
        const lit = literal as number | bigint;
        return v < lit ? -1 : v > lit ? 1 : 0;
      }
    }
  }
}

/** Turns a definition's filter literal into the form {@link ColumnReader.compare} expects. */
export function prepareLiteral(type: LogicalType, v: string | number): number | bigint | string | Uint8Array | boolean {
  switch (type) {
    case 'bool':
      return v === 'true' || v === 1;
    case 'uint256':
      return new TextEncoder().encode(BigInt(v).toString());
    case 'hex':
      return String(v).toLowerCase();
    case 'string':
      return String(v);
    case 'timestamp': {
      const ms = typeof v === 'number' ? v : Date.parse(v);
      return ms * 1000;
    }
    default: {
      const b = BigInt(v);
      return b <= BigInt(Number.MAX_SAFE_INTEGER) && b >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(b) : b;
    }
  }
}

function hashWords(lo: number, hi: number): number {
  return finish(Math.imul(lo ^ 0x9e3779b9, 0x85ebca6b) ^ hi, Math.imul(hi ^ 0x7f4a7c15, 0xc2b2ae35) ^ lo);
}

function hashBytes(bytes: Uint8Array, start: number, end: number): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let j = start; j < end; j++) {
    const b = bytes[j];
    h1 = Math.imul(h1 ^ b, 2654435761);
    h2 = Math.imul(h2 ^ b, 1597334677);
  }
  return finish(h1, h2);
}

/** Final avalanche of two 32-bit lanes into a 53-bit hash (the cyrb53 construction). */
function finish(h1: number, h2: number): number {
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

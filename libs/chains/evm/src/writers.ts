import { Bool, Data, Int32, Int64, List, makeData, Field, TimestampMicrosecond, Utf8 } from 'apache-arrow';

const HEX_DIGITS = new Uint8Array([...'0123456789abcdef'].map((c) => c.charCodeAt(0)));
const ZERO = 48;
const X = 120;
const encoder = new TextEncoder();

/** Validity bitmap that is only allocated once the first null arrives. */
class Validity {
  bitmap: Uint8Array | null = null;
  nulls = 0;

  setNull(index: number, capacity: number): void {
    if (!this.bitmap) {
      this.bitmap = new Uint8Array((Math.max(capacity, index + 1) + 7) >> 3).fill(0xff);
    } else if (index >> 3 >= this.bitmap.length) {
      const grown = new Uint8Array(Math.max(this.bitmap.length * 2, (index >> 3) + 1)).fill(0xff);
      grown.set(this.bitmap);
      this.bitmap = grown;
    }
    this.bitmap[index >> 3] &= ~(1 << (index & 7));
    this.nulls++;
  }

  /** The bitmap for `length` rows, or an empty one when there are no nulls. */
  finish(length: number): Uint8Array {
    if (!this.bitmap) return new Uint8Array(0);
    const bytes = (length + 7) >> 3;
    if (this.bitmap.length < bytes) {
      const grown = new Uint8Array(bytes).fill(0xff);
      grown.set(this.bitmap);
      this.bitmap = grown;
    }
    return this.bitmap.subarray(0, bytes);
  }

  reset(): void {
    if (this.nulls > 0) this.bitmap?.fill(0xff);
    this.nulls = 0;
  }
}

/**
 * Builds an Arrow Utf8 column byte by byte, without JS strings: callers either push whole values
 * or `reserve` room and write bytes into `bytes` themselves, then `commit`. Much faster than
 * Arrow's builders for hex, which encode every JS string through TextEncoder.
 */
export class Utf8Writer {
  bytes: Uint8Array;
  /** Write position in `bytes` while a value is being written. */
  pos = 0;
  length = 0;
  private offsets: Int32Array;
  private readonly validity = new Validity();

  constructor(expectedRows = 1024, expectedBytesPerRow = 16) {
    this.offsets = new Int32Array(Math.max(expectedRows, 1) + 1);
    this.bytes = new Uint8Array(Math.max(expectedRows * expectedBytesPerRow, 64));
  }

  /** Empties the column for new values, keeping its buffers: what `finish` returned before is overwritten. */
  reset(): void {
    this.pos = 0;
    this.length = 0;
    this.validity.reset();
  }

  /** Makes room for `n` more bytes at `pos` and returns `pos`. */
  reserve(n: number): number {
    const need = this.pos + n;
    if (need > this.bytes.length) {
      const grown = new Uint8Array(Math.max(need, this.bytes.length * 2));
      grown.set(this.bytes.subarray(0, this.pos));
      this.bytes = grown;
    }
    return this.pos;
  }

  /** Ends the current value at byte position `end`. */
  commit(end: number): void {
    this.pos = end;
    if (this.length + 2 > this.offsets.length) {
      const grown = new Int32Array(this.offsets.length * 2);
      grown.set(this.offsets);
      this.offsets = grown;
    }
    this.offsets[++this.length] = end;
  }

  pushNull(): void {
    this.validity.setNull(this.length, this.offsets.length - 1);
    this.commit(this.pos);
  }

  /** Appends an ASCII/UTF-8 string. */
  pushString(value: string): void {
    const n = value.length;
    if (n > 48) {
      let p = this.reserve(n * 3);
      p += encoder.encodeInto(value, this.bytes.subarray(p)).written;
      this.commit(p);
      return;
    }
    let p = this.reserve(n * 3);
    const b = this.bytes;
    for (let i = 0; i < n; i++) {
      const c = value.charCodeAt(i);
      if (c >= 0x80) {
        p = this.pos + encoder.encodeInto(value, b.subarray(this.pos)).written;
        break;
      }
      b[p++] = c;
    }
    this.commit(p);
  }

  /** Appends bytes [start, end) of `source` unchanged. */
  pushBytes(source: Uint8Array, start: number, end: number): void {
    const p = this.reserve(end - start);
    this.bytes.set(source.subarray(start, end), p);
    this.commit(p + end - start);
  }

  /** Appends the RPC quantity form of a non-negative safe integer: `0x` + hex without leading zeros. */
  pushHexQuantity(value: number): void {
    const lo = value >>> 0;
    const hi = value > 0xffffffff ? Math.floor(value / 4294967296) : 0;
    const digits = hi > 0 ? 8 + ((35 - Math.clz32(hi)) >> 2) : Math.max(1, (35 - Math.clz32(lo)) >> 2);
    const p = this.reserve(2 + digits);
    const b = this.bytes;
    b[p] = ZERO;
    b[p + 1] = X;
    const end = p + 1 + digits;
    for (let k = 0; k < digits; k++) {
      b[end - k] = HEX_DIGITS[k < 8 ? (lo >>> (4 * k)) & 15 : (hi >>> (4 * (k - 8))) & 15];
    }
    this.commit(end + 1);
  }

  finish(): Data<Utf8> {
    return makeData({
      type: new Utf8(),
      length: this.length,
      nullCount: this.validity.nulls,
      nullBitmap: this.validity.finish(this.length),
      valueOffsets: this.offsets.subarray(0, this.length + 1),
      data: this.bytes.subarray(0, this.pos),
    });
  }
}

/** Builds an Arrow List<Utf8> column: push the items to `items`, then `endList()` once per row. */
export class Utf8ListWriter {
  readonly items: Utf8Writer;
  length = 0;
  private offsets: Int32Array;

  constructor(expectedRows = 1024, expectedItemsPerRow = 2, expectedBytesPerItem = 66) {
    this.items = new Utf8Writer(expectedRows * expectedItemsPerRow, expectedBytesPerItem);
    this.offsets = new Int32Array(Math.max(expectedRows, 1) + 1);
  }

  /** Empties the column for new lists, keeping its buffers: what `finish` returned before is overwritten. */
  reset(): void {
    this.items.reset();
    this.length = 0;
  }

  endList(): void {
    if (this.length + 2 > this.offsets.length) {
      const grown = new Int32Array(this.offsets.length * 2);
      grown.set(this.offsets);
      this.offsets = grown;
    }
    this.offsets[++this.length] = this.items.length;
  }

  finish(): Data<List<Utf8>> {
    return makeData({
      type: new List(new Field('item', new Utf8(), false)),
      length: this.length,
      nullCount: 0,
      valueOffsets: this.offsets.subarray(0, this.length + 1),
      child: this.items.finish(),
    });
  }
}

/**
 * Builds an Int64 (or Timestamp) column from 32-bit halves, so that no BigInt is created per value.
 */
export class Int64Writer {
  readonly words: Int32Array;

  /** `allocate`'s memory is not zeroed: every row must be set. */
  constructor(
    readonly length: number,
    allocate: Allocate = freshMemory,
  ) {
    const bytes = allocate(length * 8);
    this.words = new Int32Array(bytes.buffer, bytes.byteOffset, length * 2);
  }

  /** Sets row `index` to hi * 2^32 + lo (both unsigned 32-bit). Little-endian, as Arrow is on every platform we run on. */
  set(index: number, lo: number, hi: number): void {
    this.words[index * 2] = lo;
    this.words[index * 2 + 1] = hi;
  }

  finish(): Data<Int64> {
    return makeData({ type: new Int64(), length: this.length, nullCount: 0, data: this.values() });
  }

  finishTimestamp(type: TimestampMicrosecond): Data<TimestampMicrosecond> {
    return makeData({ type, length: this.length, nullCount: 0, data: this.values() });
  }

  private values(): BigInt64Array {
    return new BigInt64Array(this.words.buffer, this.words.byteOffset, this.length);
  }
}

export function int32Data(values: Int32Array): Data<Int32> {
  return makeData({ type: new Int32(), length: values.length, nullCount: 0, data: values });
}

export function boolData(bits: Uint8Array, length: number): Data<Bool> {
  return makeData({ type: new Bool(), length, nullCount: 0, data: bits });
}

export function constantInt64(value: bigint, length: number, allocate: Allocate = freshMemory): Data<Int64> {
  const bytes = allocate(length * 8);
  const values = new BigInt64Array(bytes.buffer, bytes.byteOffset, length).fill(value);
  return makeData({ type: new Int64(), length, nullCount: 0, data: values });
}

/**
 * Where decoded columns are written: memory of their own by default, or the caller's (the
 * transformer's arena lease, given back once its spool has copied the segment). Not zeroed.
 */
export type Allocate = (bytes: number) => Uint8Array<ArrayBuffer>;

export const freshMemory: Allocate = (bytes) => new Uint8Array(bytes);

/** `length` Int32s from `allocate`, not zeroed. */
export function int32sFrom(allocate: Allocate, length: number): Int32Array<ArrayBuffer> {
  const bytes = allocate(length * 4);
  return new Int32Array(bytes.buffer, bytes.byteOffset, length);
}

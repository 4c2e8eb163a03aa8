import { makeData, RecordBatch, Struct, type Data, type DataType, type Schema } from 'apache-arrow';
import { arrowSchema, type DatasetDef } from '@chainlake/schema';
import { PG_EPOCH_HI, PG_EPOCH_LO, wireKind, type WireKind } from './columns.js';

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const DIGIT_0 = 0x30;

/** One column of the batch being built. */
class ColumnBuilder {
  words!: Int32Array;
  int32!: Int32Array;
  bits!: Uint8Array;
  offsets!: Int32Array;
  bytes!: Uint8Array;
  validity!: Uint8Array;
  nulls = 0;
  used = 0;
  /** Value bytes the last batch used: the next one starts with about as much room. */
  private lastUsed = 0;

  constructor(
    readonly kind: WireKind,
    readonly type: DataType,
    private readonly capacity: number,
  ) {
    this.reset();
  }

  reset(): void {
    const rows = this.capacity;
    this.lastUsed = this.used;
    this.validity = new Uint8Array(Math.ceil(rows / 8));
    this.nulls = 0;
    this.used = 0;
    if (this.kind === 'int64' || this.kind === 'timestamp') this.words = new Int32Array(rows * 2);
    else if (this.kind === 'int32') this.int32 = new Int32Array(rows);
    else if (this.kind === 'bool') this.bits = new Uint8Array(Math.ceil(rows / 8));
    else {
      this.offsets = new Int32Array(rows + 1);
      this.bytes = new Uint8Array(Math.max(1024, Math.ceil(this.lastUsed * 1.1)));
    }
  }

  /** Room for `extra` more value bytes. */
  grow(extra: number): void {
    if (this.used + extra <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.used + extra));
    grown.set(this.bytes.subarray(0, this.used));
    this.bytes = grown;
  }

  finish(length: number): Data {
    const nullCount = this.nulls;
    const nullBitmap = nullCount > 0 ? this.validity : undefined;
    const type = this.type;
    switch (this.kind) {
      case 'int64':
      case 'timestamp':
        return makeData({ type, length, nullCount, nullBitmap, data: new BigInt64Array(this.words.buffer, 0, length) } as never);
      case 'int32':
        return makeData({ type, length, nullCount, nullBitmap, data: this.int32.subarray(0, length) } as never);
      case 'bool':
        return makeData({ type, length, nullCount, nullBitmap, data: this.bits } as never);
      default:
        return makeData({ type, length, nullCount, nullBitmap, valueOffsets: this.offsets.subarray(0, length + 1), data: this.bytes.subarray(0, this.used) } as never);
    }
  }
}

/**
 * Parses PostgreSQL's binary COPY output of a dataset's columns (in dataset order) into Arrow record batches of
 * `batchRows` rows, written straight into typed arrays. Feed it the stream's chunks in order; tuples may span
 * chunks.
 */
export class BinaryCopyDecoder {
  private readonly schema: Schema;
  private readonly builders: ColumnBuilder[];
  private pending: Buffer = Buffer.alloc(0);
  private headerSeen = false;
  private ended = false;
  private rows = 0;

  constructor(
    private readonly def: DatasetDef,
    private readonly batchRows: number,
  ) {
    this.schema = arrowSchema(def);
    this.builders = def.columns.map((c, i) => new ColumnBuilder(wireKind(c.type), this.schema.fields[i].type, batchRows));
  }

  /** The batches completed by this chunk. */
  push(chunk: Buffer): RecordBatch[] {
    const buf = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    let pos = 0;
    if (!this.headerSeen) {
      if (buf.length < SIGNATURE.length + 8) {
        this.pending = buf;
        return [];
      }
      if (!buf.subarray(0, SIGNATURE.length).equals(SIGNATURE)) throw new Error('not PostgreSQL binary COPY data (bad signature)');
      const extension = buf.readInt32BE(SIGNATURE.length + 4);
      if (buf.length < SIGNATURE.length + 8 + extension) {
        this.pending = buf;
        return [];
      }
      pos = SIGNATURE.length + 8 + extension;
      this.headerSeen = true;
    }
    const out: RecordBatch[] = [];
    const width = this.builders.length;
    while (pos + 2 <= buf.length && !this.ended) {
      const fields = buf.readInt16BE(pos);
      if (fields === -1) {
        this.ended = true;
        pos += 2;
        break;
      }
      if (fields !== width) throw new Error(`${this.def.name}: COPY tuple has ${fields} fields, expected ${width}`);
      const end = tupleEnd(buf, pos + 2, width);
      if (end < 0) break;
      this.readTuple(buf, pos + 2);
      pos = end;
      if (this.rows === this.batchRows) out.push(this.take());
    }
    this.pending = buf.subarray(pos);
    if (this.pending.length > 0 && this.ended) throw new Error(`${this.def.name}: data after the end of the COPY stream`);
    // A copy, so that the stream's large chunk is not kept alive by a small tail.
    if (this.pending.length > 0) this.pending = Buffer.from(this.pending);
    return out;
  }

  /** The last, partial batch; throws if the stream stopped mid-tuple or without its trailer. */
  end(): RecordBatch | undefined {
    if (!this.ended) throw new Error(`${this.def.name}: COPY stream ended early (${this.pending.length} bytes of an incomplete tuple)`);
    return this.rows > 0 ? this.take() : undefined;
  }

  private take(): RecordBatch {
    const length = this.rows;
    const children = this.builders.map((b) => b.finish(length));
    for (const b of this.builders) b.reset();
    this.rows = 0;
    return new RecordBatch(this.schema, makeData({ type: new Struct(this.schema.fields), length, nullCount: 0, children }));
  }

  private readTuple(buf: Buffer, pos: number): void {
    const row = this.rows;
    const bit = 1 << (row & 7);
    const byte = row >> 3;
    const builders = this.builders;
    for (let c = 0; c < builders.length; c++) {
      const b = builders[c];
      const length = int32At(buf, pos);
      pos += 4;
      if (length === -1) {
        b.nulls++;
        if (b.kind === 'text' || b.kind === 'numeric') b.offsets[row + 1] = b.used;
        continue;
      }
      b.validity[byte] |= bit;
      switch (b.kind) {
        case 'int64':
          b.words[2 * row + 1] = int32At(buf, pos);
          b.words[2 * row] = int32At(buf, pos + 4);
          break;
        case 'timestamp': {
          let lo = (int32At(buf, pos + 4) >>> 0) + PG_EPOCH_LO;
          let hi = int32At(buf, pos) + PG_EPOCH_HI;
          if (lo >= 2 ** 32) {
            lo -= 2 ** 32;
            hi += 1;
          }
          b.words[2 * row + 1] = hi;
          b.words[2 * row] = lo;
          break;
        }
        case 'int32':
          b.int32[row] = int32At(buf, pos);
          break;
        case 'bool':
          if (buf[pos] !== 0) b.bits[byte] |= bit;
          break;
        case 'text': {
          b.grow(length);
          const out = b.bytes;
          const at = b.used;
          if (length > 24) buf.copy(out, at, pos, pos + length);
          else for (let k = 0; k < length; k++) out[at + k] = buf[pos + k];
          b.used = at + length;
          b.offsets[row + 1] = b.used;
          break;
        }
        case 'numeric':
          b.grow(4 * Math.max(1, int16At(buf, pos + 2) + 1) + 1);
          b.used = numericText(buf, pos, b.bytes, b.used, this.def.name);
          b.offsets[row + 1] = b.used;
          break;
      }
      pos += length;
    }
    this.rows++;
  }
}

const int32At = (b: Uint8Array, p: number): number => (b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3];
const int16At = (b: Uint8Array, p: number): number => ((b[p] << 24) >> 16) | b[p + 1];

/** Where the tuple whose fields start at `pos` ends, or -1 if the buffer does not hold all of it yet. */
function tupleEnd(buf: Buffer, pos: number, fields: number): number {
  for (let f = 0; f < fields; f++) {
    if (pos + 4 > buf.length) return -1;
    const length = int32At(buf, pos);
    pos += 4 + (length > 0 ? length : 0);
  }
  return pos <= buf.length ? pos : -1;
}

/** A binary numeric with no fractional part as decimal ASCII; returns the new write position. */
function numericText(buf: Buffer, pos: number, out: Uint8Array, at: number, dataset: string): number {
  const ndigits = int16At(buf, pos);
  const weight = int16At(buf, pos + 2);
  const sign = int16At(buf, pos + 4) & 0xffff;
  if (sign === 0xc000) throw new Error(`${dataset}: NaN in a numeric column`);
  if (ndigits === 0) {
    out[at] = DIGIT_0;
    return at + 1;
  }
  if (weight < ndigits - 1) throw new Error(`${dataset}: a numeric value with a fractional part in an integer column`);
  if (sign === 0x4000) out[at++] = 0x2d; // '-'
  for (let g = 0; g < ndigits; g++) {
    let group = int16At(buf, pos + 8 + 2 * g);
    if (g === 0) {
      const digits = group >= 1000 ? 4 : group >= 100 ? 3 : group >= 10 ? 2 : 1;
      for (let d = digits - 1; d >= 0; d--, group = (group / 10) | 0) out[at + d] = DIGIT_0 + (group % 10);
      at += digits;
    } else {
      for (let d = 3; d >= 0; d--, group = (group / 10) | 0) out[at + d] = DIGIT_0 + (group % 10);
      at += 4;
    }
  }
  for (let g = ndigits; g <= weight; g++) {
    out[at] = out[at + 1] = out[at + 2] = out[at + 3] = DIGIT_0;
    at += 4;
  }
  return at;
}

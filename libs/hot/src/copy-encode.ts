import type { RecordBatch } from 'apache-arrow';
import { RowError, type DatasetDef } from '@chainlake/schema';
import { checkArrowType, MAX_NUMERIC_DIGITS, PG_EPOCH_HI, PG_EPOCH_LO, wireKind, type WireKind } from './columns.js';

/** Bytes handed to the COPY stream at once. */
const CHUNK_BYTES = 1 << 20;
const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

const INT64 = 0;
const TIMESTAMP = 1;
const INT32 = 2;
const BOOL = 3;
const TEXT = 4;
const NUMERIC = 5;
const KINDS: Record<WireKind, number> = { int64: INT64, timestamp: TIMESTAMP, int32: INT32, bool: BOOL, text: TEXT, numeric: NUMERIC };
/** Most bytes a non-text value takes on the wire, its length word included (numeric: 20 base-10000 digits). */
const FIXED_BYTES = [12, 12, 8, 5, 4, 4 + 8 + 2 * 20];

interface ColumnCursor {
  name: string;
  kind: number;
  nullable: boolean;
  /** Null when the column has no nulls in this batch. */
  validity: Uint8Array | null;
  /**
   * The Arrow data's offset. Arrow JS slices value and offset buffers (row i is element i) but not bitmaps:
   * validity and booleans of row i are bit bitOffset + i.
   */
  bitOffset: number;
  /** int64 and timestamp values as 32-bit halves (little-endian: low word first). */
  words: Int32Array;
  int32: Int32Array;
  offsets: Int32Array;
  bytes: Uint8Array;
  /** `bytes` as a Buffer, for native copies of long values. */
  buffer: Buffer;
}

export interface EncodeOptions {
  /** Every row's block_number must lie in [from, to]: a range write may only replace its own range. */
  from: number;
  to: number;
}

/**
 * PostgreSQL's binary COPY format for the rows of `batches`, in chunks of about 1 MiB, read straight from the
 * Arrow buffers: no row objects, no strings. A value the column cannot hold (malformed or oversized uint256,
 * null in a NOT NULL column, block outside the range) throws a RowError naming dataset, column and row.
 */
export function* encodeBinaryCopy(def: DatasetDef, batches: Iterable<RecordBatch>, options: EncodeOptions): Generator<Buffer> {
  let chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  chunk.set(SIGNATURE, 0);
  let pos = SIGNATURE.length;
  putInt32(chunk, pos, 0); // flags
  putInt32(chunk, pos + 4, 0); // header extension length
  pos += 8;

  const columns = def.columns;
  const blockIndex = columns.findIndex((c) => c.name === def.blockColumn);
  const fixedRowBytes = 2 + columns.reduce((sum, c) => sum + FIXED_BYTES[KINDS[wireKind(c.type)]], 0);
  let rowBase = 0;
  for (const batch of batches) {
    const cursors = columns.map((column) => cursor(def, column, batch));
    checkBlocks(cursors[blockIndex], batch.numRows, def.name, rowBase, options);
    const encoder = new BatchEncoder(def.name, cursors, batch.numRows, fixedRowBytes, rowBase);
    for (;;) {
      pos = encoder.fill(chunk, pos);
      if (encoder.done) break;
      yield chunk.subarray(0, pos);
      chunk = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, encoder.nextRowBytes));
      pos = 0;
    }
    rowBase += batch.numRows;
  }
  if (pos + 2 > chunk.length) {
    yield chunk.subarray(0, pos);
    chunk = Buffer.allocUnsafe(2);
    pos = 0;
  }
  putInt16(chunk, pos, -1);
  yield chunk.subarray(0, pos + 2);
}

/** Writes the rows of one batch into chunks; a plain method, so that the hot loop is optimised as one. */
class BatchEncoder {
  private row = 0;
  /** Bytes the row that did not fit needs. */
  nextRowBytes = 0;
  private readonly texts: ColumnCursor[];

  constructor(
    private readonly dataset: string,
    private readonly cursors: ColumnCursor[],
    private readonly rows: number,
    private readonly fixedRowBytes: number,
    private readonly rowBase: number,
  ) {
    this.texts = cursors.filter((c) => c.kind === TEXT);
  }

  get done(): boolean {
    return this.row === this.rows;
  }

  /** Encodes rows at `pos` until the batch ends or the next row does not fit; returns the new position. */
  fill(b: Uint8Array, pos: number): number {
    const { cursors, texts } = this;
    const width = cursors.length;
    for (; this.row < this.rows; this.row++) {
      const row = this.row;
      let rowBytes = this.fixedRowBytes;
      for (let t = 0; t < texts.length; t++) {
        rowBytes += texts[t].offsets[row + 1] - texts[t].offsets[row];
      }
      if (pos + rowBytes > b.length) {
        this.nextRowBytes = rowBytes;
        return pos;
      }
      putInt16(b, pos, width);
      pos += 2;
      for (let c = 0; c < width; c++) {
        const col = cursors[c];
        const bit = col.bitOffset + row;
        if (col.validity !== null && (col.validity[bit >> 3] & (1 << (bit & 7))) === 0) {
          if (!col.nullable) throw new RowError(`${this.dataset}.${col.name}: null in a NOT NULL column`, { dataset: this.dataset, column: col.name, row: this.rowBase + row });
          putInt32(b, pos, -1);
          pos += 4;
          continue;
        }
        switch (col.kind) {
          case INT64:
            putInt32(b, pos, 8);
            putInt32(b, pos + 4, col.words[2 * row + 1]);
            putInt32(b, pos + 8, col.words[2 * row]);
            pos += 12;
            break;
          case TIMESTAMP: {
            let lo = (col.words[2 * row] >>> 0) - PG_EPOCH_LO;
            let hi = col.words[2 * row + 1] - PG_EPOCH_HI;
            if (lo < 0) {
              lo += 2 ** 32;
              hi -= 1;
            }
            putInt32(b, pos, 8);
            putInt32(b, pos + 4, hi);
            putInt32(b, pos + 8, lo);
            pos += 12;
            break;
          }
          case INT32:
            putInt32(b, pos, 4);
            putInt32(b, pos + 4, col.int32[row]);
            pos += 8;
            break;
          case BOOL:
            putInt32(b, pos, 1);
            b[pos + 4] = (col.bytes[bit >> 3] >> (bit & 7)) & 1;
            pos += 5;
            break;
          case TEXT: {
            const start = col.offsets[row];
            const length = col.offsets[row + 1] - start;
            putInt32(b, pos, length);
            pos += 4;
            const bytes = col.bytes;
            if (length > 24) col.buffer.copy(b, pos, start, start + length);
            else for (let k = 0; k < length; k++) b[pos + k] = bytes[start + k];
            pos += length;
            break;
          }
          default:
            pos = writeNumeric(b, pos, col.bytes, col.offsets[row], col.offsets[row + 1], this.dataset, col.name, this.rowBase + row);
        }
      }
    }
    return pos;
  }
}

function putInt32(b: Uint8Array, p: number, v: number): void {
  b[p] = v >>> 24;
  b[p + 1] = v >>> 16;
  b[p + 2] = v >>> 8;
  b[p + 3] = v;
}

function putInt16(b: Uint8Array, p: number, v: number): void {
  b[p] = v >>> 8;
  b[p + 1] = v;
}

function cursor(def: DatasetDef, column: DatasetDef['columns'][number], batch: RecordBatch): ColumnCursor {
  const vector = batch.getChild(column.name);
  if (!vector) throw new Error(`${def.name}: the rows have no column ${column.name}`);
  checkArrowType(column, vector.type, def.name);
  const data = vector.data[0];
  const values = data.values as ArrayBufferView;
  const kind = KINDS[wireKind(column.type)];
  const hasNulls = data.nullCount > 0 && data.nullBitmap !== undefined && data.nullBitmap.length > 0;
  return {
    name: column.name,
    kind,
    nullable: column.nullable,
    validity: hasNulls ? data.nullBitmap! : null,
    bitOffset: data.offset,
    words: kind === INT64 || kind === TIMESTAMP ? new Int32Array(values.buffer, values.byteOffset, data.length * 2) : EMPTY_I32,
    int32: kind === INT32 ? (values as Int32Array) : EMPTY_I32,
    offsets: kind === TEXT || kind === NUMERIC ? data.valueOffsets : EMPTY_I32,
    bytes: kind === BOOL || kind === TEXT || kind === NUMERIC ? (values as Uint8Array) : EMPTY_U8,
    buffer: kind === TEXT ? Buffer.from(values.buffer, values.byteOffset, values.byteLength) : EMPTY_BUFFER,
  };
}

const EMPTY_I32 = new Int32Array(0);
const EMPTY_U8 = new Uint8Array(0);
const EMPTY_BUFFER = Buffer.alloc(0);

function checkBlocks(col: ColumnCursor, rows: number, dataset: string, rowBase: number, { from, to }: EncodeOptions): void {
  for (let row = 0; row < rows; row++) {
    const value = col.words[2 * row + 1] * 2 ** 32 + (col.words[2 * row] >>> 0);
    if (value < from || value > to) {
      throw new RowError(`${dataset}.${col.name}: block ${value} is outside the written range [${from}, ${to}]`, { dataset, column: col.name, row: rowBase + row });
    }
  }
}

function badNumeric(why: string, text: Uint8Array, start: number, end: number, dataset: string, column: string, row: number): never {
  const value = Buffer.from(text.subarray(start, Math.min(end, start + 90))).toString('latin1');
  throw new RowError(`${dataset}.${column}: "${value}" ${why}`, { dataset, column, row });
}

/**
 * A non-negative decimal integer string as PostgreSQL's binary numeric: ndigits, weight, sign, dscale, then
 * base-10000 digits, most significant first. At most 78 significant digits (20 base-10000 digits).
 */
function writeNumeric(out: Uint8Array, pos: number, text: Uint8Array, start: number, end: number, dataset: string, column: string, row: number): number {
  if (end === start) badNumeric('is not a decimal integer', text, start, end, dataset, column, row);
  let first = start;
  while (first < end - 1 && text[first] === DIGIT_0) first++;
  for (let k = first; k < end; k++) if (text[k] < DIGIT_0 || text[k] > DIGIT_9) badNumeric('is not a decimal integer', text, start, end, dataset, column, row);
  const digits = text[first] === DIGIT_0 ? 0 : end - first;
  if (digits > MAX_NUMERIC_DIGITS) badNumeric(`has ${digits} digits; a uint256 has at most ${MAX_NUMERIC_DIGITS}`, text, start, end, dataset, column, row);
  const groups = Math.ceil(digits / 4);
  putInt32(out, pos, 8 + 2 * groups);
  putInt16(out, pos + 4, groups);
  putInt16(out, pos + 6, groups - 1); // weight: the first group multiplies 10000^(groups-1)
  putInt16(out, pos + 8, 0); // sign: positive
  putInt16(out, pos + 10, 0); // dscale
  let at = pos + 12;
  let k = first;
  let width = digits - 4 * (groups - 1);
  for (let g = 0; g < groups; g++) {
    let group = 0;
    for (let d = 0; d < width; d++) group = group * 10 + (text[k++] - DIGIT_0);
    putInt16(out, at, group);
    at += 2;
    width = 4;
  }
  return at;
}

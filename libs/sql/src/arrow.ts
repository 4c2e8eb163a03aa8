import { DuckDBTypeId, DuckDBVector, type DuckDBDataChunk, type DuckDBDecimalType, type DuckDBType } from '@duckdb/node-api';
// node-api's own binding layer: raw vector memory, which node-api only hands out value by value
import duckdb from '@duckdb/node-bindings';
import {
  Binary,
  Bool,
  DataType,
  DateDay,
  Decimal,
  Field,
  Float32,
  Float64,
  Int16,
  Int32,
  Int64,
  Int8,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  TimeMicrosecond,
  TimestampMicrosecond,
  TimestampMillisecond,
  TimestampNanosecond,
  TimestampSecond,
  Uint16,
  Uint32,
  Uint64,
  Uint8,
  Utf8,
  type Data,
} from 'apache-arrow';
import { SqlError } from './errors.js';

/**
 * DuckDB result types as Arrow types. Fixed-width values and validity masks are copied straight
 * from DuckDB's vectors (same layouts: little-endian values, LSB-first validity bits).
 * - BOOLEAN, TINYINT…BIGINT, UTINYINT…UBIGINT, FLOAT, DOUBLE → the Arrow type of the same width
 * - VARCHAR → Utf8, BLOB → Binary, DATE → Date32, TIME → Time64(µs)
 * - TIMESTAMP → Timestamp(µs), TIMESTAMP WITH TIME ZONE → Timestamp(µs, "UTC"), TIMESTAMP_S/MS/NS → Timestamp(s/ms/ns)
 * - DECIMAL(p,s) → Decimal128(p,s); HUGEINT and UHUGEINT (e.g. sum of BIGINTs) → Decimal128(38,0), a value of
 *   39 digits is refused with an error naming the column (CAST it to VARCHAR or DOUBLE to read it)
 * - anything else (LIST, STRUCT, MAP, ENUM, UUID, INTERVAL, …) → Utf8, as DuckDB renders the value as text
 */
interface Mapping {
  type: DataType;
  column(): Column;
}

const FIXED: Partial<Record<DuckDBTypeId, () => DataType>> = {
  [DuckDBTypeId.TINYINT]: () => new Int8(),
  [DuckDBTypeId.SMALLINT]: () => new Int16(),
  [DuckDBTypeId.INTEGER]: () => new Int32(),
  [DuckDBTypeId.BIGINT]: () => new Int64(),
  [DuckDBTypeId.UTINYINT]: () => new Uint8(),
  [DuckDBTypeId.USMALLINT]: () => new Uint16(),
  [DuckDBTypeId.UINTEGER]: () => new Uint32(),
  [DuckDBTypeId.UBIGINT]: () => new Uint64(),
  [DuckDBTypeId.FLOAT]: () => new Float32(),
  [DuckDBTypeId.DOUBLE]: () => new Float64(),
  [DuckDBTypeId.DATE]: () => new DateDay(),
  [DuckDBTypeId.TIME]: () => new TimeMicrosecond(),
  [DuckDBTypeId.TIMESTAMP]: () => new TimestampMicrosecond(),
  [DuckDBTypeId.TIMESTAMP_TZ]: () => new TimestampMicrosecond('UTC'),
  [DuckDBTypeId.TIMESTAMP_S]: () => new TimestampSecond(),
  [DuckDBTypeId.TIMESTAMP_MS]: () => new TimestampMillisecond(),
  [DuckDBTypeId.TIMESTAMP_NS]: () => new TimestampNanosecond(),
};

function mapping(name: string, type: DuckDBType, capacity: number): Mapping {
  const fixed = FIXED[type.typeId];
  if (fixed) {
    const arrow = fixed();
    return { type: arrow, column: () => new FixedWidthColumn(arrow, capacity) };
  }
  switch (type.typeId) {
    case DuckDBTypeId.BOOLEAN:
      return { type: new Bool(), column: () => new BoolColumn(capacity) };
    case DuckDBTypeId.VARCHAR:
      return { type: new Utf8(), column: () => new BytesColumn(new Utf8(), capacity) };
    case DuckDBTypeId.BLOB:
      return { type: new Binary(), column: () => new BytesColumn(new Binary(), capacity) };
    case DuckDBTypeId.DECIMAL: {
      const { width, scale } = type as DuckDBDecimalType;
      const storage = width <= 4 ? 2 : width <= 9 ? 4 : width <= 18 ? 8 : 16;
      const arrow = new Decimal(scale, width, 128);
      return { type: arrow, column: () => new DecimalColumn(name, arrow, storage, 'signed', capacity) };
    }
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UHUGEINT: {
      const arrow = new Decimal(0, 38, 128);
      const sign = type.typeId === DuckDBTypeId.HUGEINT ? 'signed' : 'unsigned';
      return { type: arrow, column: () => new DecimalColumn(name, arrow, 16, sign, capacity) };
    }
    default:
      return { type: new Utf8(), column: () => new TextColumn(type, capacity) };
  }
}

/** The Arrow field a DuckDB result column becomes (always nullable: DuckDB results do not say). */
export function arrowField(name: string, type: DuckDBType): Field {
  return new Field(name, mapping(name, type, 0).type, true);
}

interface Column {
  readonly bytes: number;
  append(vector: duckdb.Vector, rows: number): void;
  /** The rows appended since the last finish, as Arrow data; the column starts over empty. */
  finish(): Data;
}

/** Arrow validity bits, filled from DuckDB validity masks at any bit offset. */
class Validity {
  private bits: Uint8Array;
  private length = 0;
  nulls = 0;

  constructor(private readonly capacity: number) {
    this.bits = new Uint8Array(Math.ceil(capacity / 8));
  }

  append(vector: duckdb.Vector, rows: number): void {
    const mask = duckdb.vector_get_validity(vector, 8 * Math.ceil(rows / 64));
    const bits = this.bits;
    let at = this.length;
    if (!mask) {
      for (const end = at + rows; at < end; at++) bits[at >> 3] |= 1 << (at & 7);
    } else {
      for (let row = 0; row < rows; row++, at++) {
        if (mask[row >> 3] & (1 << (row & 7))) bits[at >> 3] |= 1 << (at & 7);
        else this.nulls++;
      }
    }
    this.length = at;
  }

  isValid(row: number): boolean {
    return (this.bits[row >> 3] & (1 << (row & 7))) !== 0;
  }

  finish(): { nullCount: number; nullBitmap: Uint8Array | undefined } {
    const result = { nullCount: this.nulls, nullBitmap: this.nulls > 0 ? this.bits.subarray(0, Math.ceil(this.length / 8)) : undefined };
    this.bits = new Uint8Array(Math.ceil(this.capacity / 8));
    this.length = 0;
    this.nulls = 0;
    return result;
  }
}

class FixedWidthColumn implements Column {
  private readonly width: number;
  private values: Uint8Array;
  private readonly validity: Validity;
  private length = 0;

  constructor(
    private readonly type: DataType,
    private readonly capacity: number,
  ) {
    this.width = (type.ArrayType as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
    this.values = new Uint8Array(capacity * this.width);
    this.validity = new Validity(capacity);
  }

  get bytes(): number {
    return this.length * this.width;
  }

  append(vector: duckdb.Vector, rows: number): void {
    this.values.set(duckdb.vector_get_data(vector, rows * this.width), this.length * this.width);
    this.validity.append(vector, rows);
    this.length += rows;
  }

  finish(): Data {
    const ArrayType = this.type.ArrayType as new (buffer: ArrayBuffer, offset: number, length: number) => ArrayLike<unknown>;
    const data = new ArrayType(this.values.buffer as ArrayBuffer, 0, this.length);
    const result = makeData({ type: this.type, length: this.length, data, ...this.validity.finish() } as never);
    this.values = new Uint8Array(this.capacity * this.width);
    this.length = 0;
    return result;
  }
}

class BoolColumn implements Column {
  private values: Uint8Array;
  private readonly validity: Validity;
  private length = 0;

  constructor(private readonly capacity: number) {
    this.values = new Uint8Array(Math.ceil(capacity / 8));
    this.validity = new Validity(capacity);
  }

  get bytes(): number {
    return this.length / 8;
  }

  append(vector: duckdb.Vector, rows: number): void {
    const bytes = duckdb.vector_get_data(vector, rows);
    for (let row = 0, at = this.length; row < rows; row++, at++) if (bytes[row]) this.values[at >> 3] |= 1 << (at & 7);
    this.validity.append(vector, rows);
    this.length += rows;
  }

  finish(): Data {
    const result = makeData({ type: new Bool(), length: this.length, data: this.values.subarray(0, Math.ceil(this.length / 8)), ...this.validity.finish() });
    this.values = new Uint8Array(Math.ceil(this.capacity / 8));
    this.length = 0;
    return result;
  }
}

/** Variable-length values as Arrow offsets + bytes; the bytes buffer grows by doubling. */
class VariableBytes {
  offsets: Int32Array;
  data = new Uint8Array(64 * 1024);
  length = 0;

  constructor(private readonly capacity: number) {
    this.offsets = new Int32Array(capacity + 1);
  }

  get bytes(): number {
    return this.offsets[this.length];
  }

  push(value: Uint8Array | undefined): void {
    const start = this.offsets[this.length];
    if (value) {
      const end = start + value.byteLength;
      if (end > 0x7fffffff) throw new SqlError('a result batch column exceeds 2 GiB of text');
      if (end > this.data.byteLength) {
        const grown = new Uint8Array(Math.max(end, this.data.byteLength * 2));
        grown.set(this.data.subarray(0, start));
        this.data = grown;
      }
      this.data.set(value, start);
      this.offsets[++this.length] = end;
    } else {
      this.offsets[++this.length] = start;
    }
  }

  take(): { valueOffsets: Int32Array; data: Uint8Array; length: number } {
    const result = { valueOffsets: this.offsets.subarray(0, this.length + 1), data: this.data.subarray(0, this.bytes), length: this.length };
    this.offsets = new Int32Array(this.capacity + 1);
    this.data = new Uint8Array(64 * 1024);
    this.length = 0;
    return result;
  }
}

/** VARCHAR and BLOB: DuckDB's 16-byte string_t holds up to 12 bytes inline, longer values behind a pointer. */
class BytesColumn implements Column {
  private readonly values: VariableBytes;
  private readonly validity: Validity;

  constructor(
    private readonly type: Utf8 | Binary,
    capacity: number,
  ) {
    this.values = new VariableBytes(capacity);
    this.validity = new Validity(capacity);
  }

  get bytes(): number {
    return this.values.bytes;
  }

  append(vector: duckdb.Vector, rows: number): void {
    const first = this.values.length;
    this.validity.append(vector, rows);
    const strings = duckdb.vector_get_data(vector, rows * 16);
    const view = new DataView(strings.buffer, strings.byteOffset, strings.byteLength);
    for (let row = 0; row < rows; row++) {
      if (!this.validity.isValid(first + row)) {
        this.values.push(undefined);
        continue;
      }
      const at = row * 16;
      const length = view.getUint32(at, true);
      this.values.push(
        length <= 12
          ? strings.subarray(at + 4, at + 4 + length)
          : duckdb.get_data_from_pointer(strings.buffer as ArrayBuffer, strings.byteOffset + at + 8, length),
      );
    }
  }

  finish(): Data {
    return makeData({ type: this.type, ...this.values.take(), ...this.validity.finish() } as never);
  }
}

/** Types without an Arrow counterpart here: DuckDB's text rendering of each value. */
class TextColumn implements Column {
  private readonly values: VariableBytes;
  private nulls: boolean[] = [];
  private readonly encoder = new TextEncoder();

  constructor(
    private readonly type: DuckDBType,
    capacity: number,
  ) {
    this.values = new VariableBytes(capacity);
  }

  get bytes(): number {
    return this.values.bytes;
  }

  append(vector: duckdb.Vector, rows: number): void {
    const values = DuckDBVector.create(vector, rows, this.type);
    for (let row = 0; row < rows; row++) {
      const value = values.getItem(row);
      this.nulls.push(value === null);
      this.values.push(value === null ? undefined : this.encoder.encode(String(value)));
    }
  }

  finish(): Data {
    const nullCount = this.nulls.filter(Boolean).length;
    let nullBitmap: Uint8Array | undefined;
    if (nullCount > 0) {
      nullBitmap = new Uint8Array(Math.ceil(this.nulls.length / 8));
      this.nulls.forEach((isNull, row) => {
        if (!isNull) nullBitmap![row >> 3] |= 1 << (row & 7);
      });
    }
    this.nulls = [];
    return makeData({ type: new Utf8(), ...this.values.take(), nullCount, nullBitmap });
  }
}

/** 10^38 as the top 32 bits of a 128-bit integer: a value whose top word is below this has at most 38 digits. */
const DIGITS_38_TOP_WORD = 0x4b3b4ca8;
const TEN_POW_38 = 10n ** 38n;

/** DuckDB decimals (int16/32/64/128 storage) and huge integers as Arrow Decimal128 (16 bytes, little-endian two's complement). */
class DecimalColumn implements Column {
  private values: Uint32Array;
  private readonly validity: Validity;
  private length = 0;

  constructor(
    private readonly name: string,
    private readonly type: Decimal,
    private readonly storage: 2 | 4 | 8 | 16,
    private readonly sign: 'signed' | 'unsigned',
    private readonly capacity: number,
  ) {
    this.values = new Uint32Array(capacity * 4);
    this.validity = new Validity(capacity);
  }

  get bytes(): number {
    return this.length * 16;
  }

  append(vector: duckdb.Vector, rows: number): void {
    const raw = duckdb.vector_get_data(vector, rows * this.storage);
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const out = this.values;
    this.validity.append(vector, rows);
    for (let row = 0; row < rows; row++) {
      const at = (this.length + row) * 4;
      if (this.storage === 16) {
        for (let word = 0; word < 4; word++) out[at + word] = view.getUint32(row * 16 + word * 4, true);
        if (this.validity.isValid(this.length + row)) this.checkDigits(view, row);
      } else {
        const low = this.storage === 2 ? view.getInt16(row * 2, true) : view.getInt32(row * this.storage, true);
        const high = this.storage === 8 ? view.getInt32(row * 8 + 4, true) : low >> 31;
        const extension = high < 0 ? 0xffffffff : 0;
        out[at] = low >>> 0;
        out[at + 1] = high >>> 0;
        out[at + 2] = extension;
        out[at + 3] = extension;
      }
    }
    this.length += rows;
  }

  private checkDigits(view: DataView, row: number): void {
    const top = view.getInt32(row * 16 + 12, true);
    const fits = this.sign === 'signed' ? top < DIGITS_38_TOP_WORD && top > -DIGITS_38_TOP_WORD : top >= 0 && top < DIGITS_38_TOP_WORD;
    if (fits) return;
    const low = view.getBigUint64(row * 16, true);
    const high = this.sign === 'signed' ? view.getBigInt64(row * 16 + 8, true) : view.getBigUint64(row * 16 + 8, true);
    const value = (high << 64n) | low;
    if (value >= TEN_POW_38 || value <= -TEN_POW_38) {
      throw new SqlError(`column "${this.name}": ${value} has more than 38 digits, the most Arrow's Decimal128 holds; CAST it to VARCHAR or DOUBLE`);
    }
  }

  finish(): Data {
    const result = makeData({ type: this.type, length: this.length, data: this.values.subarray(0, this.length * 4), ...this.validity.finish() });
    this.values = new Uint32Array(this.capacity * 4);
    this.length = 0;
    return result;
  }
}

/**
 * Gathers DuckDB data chunks (up to 2,048 rows each) into Arrow record batches of about
 * `targetRows` rows or `targetBytes` bytes, whichever comes first; memory stays at about one batch.
 */
export class ChunkBatcher {
  readonly schema: Schema;
  private readonly columns: Column[];
  private rows = 0;

  constructor(
    names: string[],
    types: DuckDBType[],
    private readonly targetRows: number,
    private readonly targetBytes: number,
  ) {
    const capacity = targetRows + duckdb.vector_size();
    const mappings = names.map((name, i) => mapping(name, types[i], capacity));
    this.schema = new Schema(names.map((name, i) => new Field(name, mappings[i].type, true)));
    this.columns = mappings.map((m) => m.column());
  }

  get pending(): number {
    return this.rows;
  }

  /** Adds a chunk; returns true when a batch is due. */
  add(chunk: DuckDBDataChunk): boolean {
    const rows = chunk.rowCount;
    this.columns.forEach((column, i) => column.append(duckdb.data_chunk_get_vector(chunk.chunk, i), rows));
    this.rows += rows;
    return this.rows >= this.targetRows || this.columns.reduce((sum, column) => sum + column.bytes, 0) >= this.targetBytes;
  }

  take(): RecordBatch {
    const children = this.columns.map((column) => column.finish());
    const length = this.rows;
    this.rows = 0;
    return new RecordBatch(this.schema, makeData({ type: new Struct(this.schema.fields), length, nullCount: 0, children }));
  }
}

import { DataType, makeData, makeVector, RecordBatch, Struct, vectorFromArray, type Data, type Schema } from 'apache-arrow';

/** Row numbers where the mask is 1. */
export function selectedRows(mask: Uint8Array): Int32Array {
  let count = 0;
  for (let i = 0; i < mask.length; i++) count += mask[i];
  const rows = new Int32Array(count);
  for (let i = 0, k = 0; k < count; i++) if (mask[i] === 1) rows[k++] = i;
  return rows;
}

function takeValidity(data: Data, rows: Int32Array): { nullBitmap: Uint8Array | undefined; nullCount: number } {
  if (data.nullCount === 0 || !data.nullBitmap || data.nullBitmap.length === 0) return { nullBitmap: undefined, nullCount: 0 };
  const source = data.nullBitmap;
  const bitmap = new Uint8Array(Math.ceil(rows.length / 8));
  let nullCount = 0;
  for (let k = 0; k < rows.length; k++) {
    const bit = data.offset + rows[k];
    if (source[bit >> 3] & (1 << (bit & 7))) bitmap[k >> 3] |= 1 << (k & 7);
    else nullCount++;
  }
  return { nullBitmap: nullCount > 0 ? bitmap : undefined, nullCount };
}

function takeBits(data: Data, rows: Int32Array): Uint8Array {
  const source = data.values as Uint8Array;
  const bits = new Uint8Array(Math.ceil(rows.length / 8));
  for (let k = 0; k < rows.length; k++) {
    const bit = data.offset + rows[k];
    if (source[bit >> 3] & (1 << (bit & 7))) bits[k >> 3] |= 1 << (k & 7);
  }
  return bits;
}

function takeVariable(data: Data, rows: Int32Array): { valueOffsets: Int32Array; data: Uint8Array } {
  const offsets = data.valueOffsets as Int32Array;
  const source = data.values as Uint8Array;
  const valueOffsets = new Int32Array(rows.length + 1);
  let size = 0;
  for (let k = 0; k < rows.length; k++) {
    size += offsets[rows[k] + 1] - offsets[rows[k]];
    valueOffsets[k + 1] = size;
  }
  const bytes = new Uint8Array(size);
  for (let k = 0; k < rows.length; k++) {
    const start = offsets[rows[k]];
    const end = offsets[rows[k] + 1];
    const at = valueOffsets[k];
    if (end - start > 32) bytes.set(source.subarray(start, end), at);
    else for (let j = start; j < end; j++) bytes[at + j - start] = source[j];
  }
  return { valueOffsets, data: bytes };
}

type FixedWidthArray = Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array | Float64Array | BigInt64Array | BigUint64Array;

/** Copies whole values as 32-bit words where they allow it, so 64-bit values never become BigInts or floats. */
function takeFixedWidth(data: Data, rows: Int32Array): FixedWidthArray {
  const values = data.values as FixedWidthArray;
  const width = data.stride * values.BYTES_PER_ELEMENT;
  const out = new (values.constructor as new (length: number) => FixedWidthArray)(rows.length * data.stride);
  const [View, unit] = width % 4 === 0 ? [Int32Array, 4] : width % 2 === 0 ? [Int16Array, 2] : [Uint8Array, 1];
  const units = width / unit;
  const from = new View(values.buffer as ArrayBuffer, values.byteOffset, data.length * units);
  const to = new View(out.buffer as ArrayBuffer, out.byteOffset, rows.length * units);
  if (units === 1) {
    for (let k = 0; k < rows.length; k++) to[k] = from[rows[k]];
  } else if (units === 2) {
    for (let k = 0; k < rows.length; k++) {
      const r = rows[k] * 2;
      to[2 * k] = from[r];
      to[2 * k + 1] = from[r + 1];
    }
  } else {
    for (let k = 0; k < rows.length; k++) to.set(from.subarray(rows[k] * units, (rows[k] + 1) * units), k * units);
  }
  return out;
}

function isFixedWidth(type: DataType): boolean {
  return (
    DataType.isInt(type) ||
    DataType.isFloat(type) ||
    DataType.isTimestamp(type) ||
    DataType.isDate(type) ||
    DataType.isTime(type) ||
    DataType.isDuration(type) ||
    DataType.isDecimal(type)
  );
}

/** The given rows of a column, in order. */
export function takeRows(data: Data, rows: Int32Array): Data {
  const type = data.type;
  const length = rows.length;
  if (DataType.isBool(type)) return makeData({ type, length, ...takeValidity(data, rows), data: takeBits(data, rows) });
  if (DataType.isUtf8(type) || DataType.isBinary(type)) return makeData({ type, length, ...takeValidity(data, rows), ...takeVariable(data, rows) });
  if (isFixedWidth(type)) return makeData({ type, length, ...takeValidity(data, rows), data: takeFixedWidth(data, rows) } as never);
  // Types our datasets do not use: through Arrow's own accessors and builders.
  const vector = makeVector(data);
  return vectorFromArray(Array.from(rows, (row) => vector.get(row)), type).data[0];
}

/** A record batch of `schema` from column data of equal length. */
export function batchOf(schema: Schema, children: Data[], length: number): RecordBatch {
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length, nullCount: 0, children }));
}

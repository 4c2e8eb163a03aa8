import { Data, RecordBatch, Table, Vector, type Struct } from 'apache-arrow';

type Allocate = (bytes: number) => Uint8Array;
type TypedArray = ArrayBufferView & { length: number };

/** A copy of the array in memory from `allocate`, of the same element type. */
function copyArray<T extends TypedArray | undefined>(array: T, allocate: Allocate): T {
  if (!array || array.byteLength === 0) return array;
  const bytes = allocate(array.byteLength);
  bytes.set(new Uint8Array(array.buffer, array.byteOffset, array.byteLength));
  const Type = array.constructor as new (buffer: ArrayBufferLike, byteOffset: number, length: number) => NonNullable<T>;
  return new Type(bytes.buffer, bytes.byteOffset, array.length);
}

function copyData(data: Data, allocate: Allocate): Data {
  const dictionary = data.dictionary && new Vector(data.dictionary.data.map((chunk) => copyData(chunk, allocate)));
  const buffers = [data.valueOffsets, data.values, data.nullBitmap, data.typeIds].map((array) => copyArray(array as TypedArray | undefined, allocate));
  const children = data.children.map((child) => copyData(child, allocate));
  const variadic = data.variadicBuffers.map((buffer) => copyArray(buffer, allocate));
  return new Data(data.type, data.offset, data.length, data.nullCount, buffers as never, children, dictionary, variadic);
}

/** The table with every buffer (children and dictionaries too) copied into memory from `allocate`. */
export function copyTable(table: Table, allocate: Allocate): Table {
  const batches = table.batches.map((batch) => new RecordBatch(table.schema, copyData(batch.data, allocate) as Data<Struct>));
  return new Table(table.schema, batches);
}

import {
  Bool,
  Dictionary,
  Field,
  Int32,
  Int64,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  Table,
  TimestampMicrosecond,
  Utf8,
  vectorFromArray,
  Vector,
  type RecordBatch as Batch,
} from 'apache-arrow';

const STATUS_ID = 7;

export const fixtureSchema = new Schema([
  new Field('id', new Int64(), false),
  new Field('hash', new Utf8(), false),
  new Field('ok', new Bool(), false),
  new Field('at', new TimestampMicrosecond('UTC'), false),
  new Field('amount', new Int64(), true),
  new Field('memo', new Utf8(), true),
  new Field('status', new Dictionary(new Utf8(), new Int32(), STATUS_ID), true),
]);

/** One batch of `rows` rows starting at id `first`; its status dictionary differs from other batches'. */
export function fixtureBatch(index: number, first: number, rows: number): Batch {
  const ids = new BigInt64Array(rows);
  const at = new BigInt64Array(rows);
  const hashes: string[] = [];
  const ok: boolean[] = [];
  const amounts: Array<bigint | null> = [];
  const memos: Array<string | null> = [];
  const statuses: Array<string | null> = [];
  const words = [`pending-${index}`, `ok-${index}`, `failed-${index}`, 'shared'];
  for (let i = 0; i < rows; i++) {
    const id = first + i;
    ids[i] = BigInt(id);
    at[i] = 1_700_000_000_000_000n + BigInt(id) * 1_234n;
    hashes.push(`0x${(id * 2654435761).toString(16).padStart(16, '0')}`);
    ok.push(id % 3 !== 0);
    amounts.push(id % 7 === 0 ? null : BigInt(id) * 1_000_000_007n);
    memos.push(id % 5 === 0 ? null : `memo ${id}`);
    statuses.push(id % 11 === 0 ? null : words[id % words.length]);
  }
  const children: Vector[] = [
    new Vector([makeData({ type: new Int64(), length: rows, nullCount: 0, data: ids })]),
    vectorFromArray(hashes, new Utf8()),
    vectorFromArray(ok, new Bool()),
    new Vector([makeData({ type: fixtureSchema.fields[3].type as TimestampMicrosecond, length: rows, nullCount: 0, data: at })]),
    vectorFromArray(amounts, new Int64()),
    vectorFromArray(memos, new Utf8()),
    vectorFromArray(statuses, fixtureSchema.fields[6].type as Dictionary<Utf8, Int32>),
  ];
  const data = makeData({
    type: new Struct(fixtureSchema.fields),
    length: rows,
    nullCount: 0,
    children: children.map((vector) => vector.data[0]),
  });
  return new RecordBatch(fixtureSchema, data);
}

/** `batches` batches of `rowsPerBatch` rows each. */
export function fixtureTable(batches: number, rowsPerBatch: number): Table {
  return new Table(fixtureSchema, Array.from({ length: batches }, (_, i) => fixtureBatch(i, i * rowsPerBatch, rowsPerBatch)));
}

/** Every column's values, read through Arrow's accessors (nulls included). */
export function columnValues(table: Table): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  for (const field of table.schema.fields) {
    const column = table.getChild(field.name)!;
    out[field.name] = Array.from({ length: table.numRows }, (_, i) => column.get(i));
  }
  return out;
}

export function describeSchema(schema: Schema): string[] {
  return schema.fields.map((field) => `${field.name}: ${field.type} nullable=${field.nullable}`);
}

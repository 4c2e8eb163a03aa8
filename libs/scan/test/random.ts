import fc from 'fast-check';
import { Bool, Field, Int32, Int64, makeData, RecordBatch, Schema, Struct, TimestampMicrosecond, Utf8, vectorFromArray, type Data } from 'apache-arrow';
import { LOGICAL_TYPE_KEY } from '@chainlake/schema';
import { parseWhere, type Predicate } from '../src/index.js';

/** One column of each comparison kind, all nullable. */
export const randomSchema = new Schema(
  (
    [
      ['i64', new Int64(), 'int64'],
      ['i32', new Int32(), 'int32'],
      ['ts', new TimestampMicrosecond('UTC'), 'timestamp'],
      ['flag', new Bool(), 'bool'],
      ['name', new Utf8(), 'string'],
      ['addr', new Utf8(), 'hex'],
      ['amount', new Utf8(), 'uint256'],
    ] as const
  ).map(([name, type, logical]) => new Field(name, type, true, new Map([[LOGICAL_TYPE_KEY, logical]]))),
);

export interface RandomRow {
  i64: bigint | null;
  i32: number | null;
  ts: bigint | null;
  flag: boolean | null;
  name: string | null;
  addr: string | null;
  amount: string | null;
}

const INT64_EDGES = [-(2n ** 63n), 2n ** 63n - 1n, -(2n ** 32n), 2n ** 32n, 2n ** 32n - 1n, -1n, 0n, 1n, 4_294_967_296n + 5n];

// Small domains so that random literals hit stored values often; edges that stress the 32-bit word compare.
export const int64Value = fc.oneof(fc.bigInt({ min: -5n, max: 5n }), fc.constantFrom(...INT64_EDGES));
export const int32Value = fc.oneof(fc.integer({ min: -5, max: 5 }), fc.constantFrom(-(2 ** 31), 2 ** 31 - 1));
export const timestampValue = fc.bigInt({ min: 1_704_067_200_000_000n - 3n, max: 1_704_067_200_000_000n + 3n });
// Multi-byte characters check that strings order by UTF-8 bytes (code points): 'ｚ' (U+FF5A) < '😀' (U+1F600).
export const nameValue = fc.constantFrom('', 'a', 'ab', 'b', 'é', 'ｚ', '😀', 'a😀', 'aｚ');
export const hexValue = fc.constantFrom('0x', '0x00', '0x0a', '0xab', '0xabc', '0xff');
// Decimal strings whose lexical order differs from their numeric order; some with leading zeros.
export const amountValue = fc.oneof(
  fc.constantFrom('0', '9', '10', '99', '100', '0099', '115792089237316195423570985008687907853269984665640564039457584007913129639935'),
  fc.bigInt({ min: 0n, max: 2n ** 80n }).map(String),
);

const nullable = <T>(value: fc.Arbitrary<T>) => fc.option(value, { freq: 5, nil: null });

export const randomRow: fc.Arbitrary<RandomRow> = fc.record({
  i64: nullable(int64Value),
  i32: nullable(int32Value),
  ts: nullable(timestampValue),
  flag: nullable(fc.boolean()),
  name: nullable(nameValue),
  addr: nullable(hexValue),
  amount: nullable(amountValue),
});

function bigintData(type: Int64 | TimestampMicrosecond, values: (bigint | null)[]): Data {
  const data = new BigInt64Array(values.length);
  const validity = new Uint8Array(Math.ceil(values.length / 8));
  let nullCount = 0;
  values.forEach((v, i) => {
    if (v === null) nullCount++;
    else {
      data[i] = v;
      validity[i >> 3] |= 1 << (i & 7);
    }
  });
  return makeData({ type, length: values.length, nullCount, nullBitmap: nullCount ? validity : undefined, data } as never);
}

export function batchFromRows(rows: RandomRow[]): RecordBatch {
  const pick = <K extends keyof RandomRow>(key: K) => rows.map((row) => row[key]);
  const children = [
    bigintData(new Int64(), pick('i64')),
    vectorFromArray(pick('i32'), new Int32()).data[0],
    bigintData(new TimestampMicrosecond('UTC'), pick('ts')),
    vectorFromArray(pick('flag'), new Bool()).data[0],
    vectorFromArray(pick('name'), new Utf8()).data[0],
    vectorFromArray(pick('addr'), new Utf8()).data[0],
    vectorFromArray(pick('amount'), new Utf8()).data[0],
  ];
  return new RecordBatch(randomSchema, makeData({ type: new Struct(randomSchema.fields), length: rows.length, nullCount: 0, children }));
}

/** The rows of a batch read back through Arrow's accessors. */
export function rowsOf(batch: RecordBatch): RandomRow[] {
  return Array.from({ length: batch.numRows }, (_, i) => {
    const row = {} as Record<string, unknown>;
    batch.schema.fields.forEach((field, c) => {
      const data = batch.data.children[c];
      const bit = data.offset + i;
      const valid = data.nullCount === 0 || !data.nullBitmap?.length || (data.nullBitmap[bit >> 3] & (1 << (bit & 7))) !== 0;
      // Timestamps are read from the buffer: Arrow's accessor converts them to milliseconds.
      row[field.name] = !valid ? null : field.name === 'ts' ? (data.values as BigInt64Array)[i] : batch.getChildAt(c)!.get(i);
    });
    return row as unknown as RandomRow;
  });
}

export type Where = Record<string, unknown>;
type Column = keyof RandomRow;

/** Literals as a client would write them in JSON: integers as numbers when exact, else as strings. */
const jsonInteger = (value: bigint) => (value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : String(value));
const literals: Record<Column, fc.Arbitrary<unknown>> = {
  i64: int64Value.map(jsonInteger),
  i32: int32Value,
  ts: timestampValue.map(jsonInteger),
  flag: fc.boolean(),
  name: nameValue,
  addr: hexValue.chain((hex) => fc.constantFrom(hex, hex.toUpperCase().replace('0X', '0x'))),
  amount: amountValue.map((text) => BigInt(text).toString()),
};
const columns = Object.keys(literals) as Column[];

export const leaf: fc.Arbitrary<Where> = fc.constantFrom(...columns).chain((column) => {
  const value = literals[column];
  const ops = fc.oneof(
    fc.record({ op: fc.constantFrom('eq', 'ne', 'lt', 'lte', 'gt', 'gte'), operand: value }),
    fc.record({ op: fc.constant('in'), operand: fc.array(value, { minLength: 1, maxLength: 20 }) }),
    fc.record({ op: fc.constant('between'), operand: fc.tuple(value, value) }),
  );
  return fc.array(ops, { minLength: 1, maxLength: 2 }).map((list) => {
    const spec: Record<string, unknown> = {};
    for (const { op, operand } of list) spec[op] = operand;
    return { [column]: spec };
  });
});

export const where: fc.Arbitrary<Where> = fc.letrec<{ node: Where }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('node'), { minLength: 1, maxLength: 3 }).map((children) => ({ and: children })),
    fc.array(tie('node'), { minLength: 1, maxLength: 3 }).map((children) => ({ or: children })),
    fc.tuple(leaf, leaf).map(([a, b]) => ({ ...a, ...b })),
  ),
})).node;

/** The reference: a plain per-row interpretation of the where JSON. */
function compare(column: Column, value: unknown, operand: unknown): number {
  const sign = (a: number | bigint, b: number | bigint) => (a < b ? -1 : a > b ? 1 : 0);
  switch (column) {
    case 'i64':
    case 'ts':
    case 'amount':
      return sign(BigInt(value as bigint | string), BigInt(operand as number | string));
    case 'i32':
      return sign(value as number, operand as number);
    case 'flag':
      return sign(Number(value), Number(operand));
    case 'name':
      return Buffer.compare(Buffer.from(value as string), Buffer.from(operand as string));
    case 'addr':
      return Buffer.compare(Buffer.from(value as string), Buffer.from((operand as string).toLowerCase()));
  }
}

function holds(column: Column, value: unknown, op: string, operand: unknown): boolean {
  switch (op) {
    case 'eq':
      return compare(column, value, operand) === 0;
    case 'ne':
      return compare(column, value, operand) !== 0;
    case 'lt':
      return compare(column, value, operand) < 0;
    case 'lte':
      return compare(column, value, operand) <= 0;
    case 'gt':
      return compare(column, value, operand) > 0;
    case 'gte':
      return compare(column, value, operand) >= 0;
    case 'in':
      return (operand as unknown[]).some((o) => compare(column, value, o) === 0);
    case 'between': {
      const [low, high] = operand as [unknown, unknown];
      return compare(column, value, low) >= 0 && compare(column, value, high) <= 0;
    }
  }
  throw new Error(`no operator ${op}`);
}

export function matches(node: Where, row: RandomRow): boolean {
  return Object.entries(node).every(([key, spec]) => {
    if (key === 'and') return (spec as Where[]).every((child) => matches(child, row));
    if (key === 'or') return (spec as Where[]).some((child) => matches(child, row));
    const value = row[key as Column];
    if (value === null) return false;
    return Object.entries(spec as Record<string, unknown>).every(([op, operand]) => holds(key as Column, value, op, operand));
  });
}

/** Parses, or undefined when the generated where is invalid (an inverted between). */
export function tryParse(node: Where): Predicate | undefined {
  try {
    return parseWhere(node, randomSchema);
  } catch (error) {
    if ((error as Error).message.includes('is above high')) return undefined;
    throw error;
  }
}


import type { Data, RecordBatch } from 'apache-arrow';
import type { ColumnKind, LeafPredicate, Literal, Predicate } from './predicate.js';

/** Per row: 1 if the predicate holds, else 0. */
export type RowMatcher = (batch: RecordBatch) => Uint8Array;

/** Per-row sign of (value − literal) is -1, 0 or 1; a null value gets this instead, which no test accepts. */
const NULL_SIGN = 2;
/** Above this many values, `in` tests membership in a set instead of one comparison pass per value. */
const IN_LIST_PASSES = 8;

type SignWriter = (data: Data, signs: Int8Array) => void;

const utf8 = new TextEncoder();
const ZERO = 0x30;

function int64Signs(literal: bigint): SignWriter {
  const high = Number(BigInt.asIntN(64, literal) >> 32n);
  const low = Number(literal & 0xffffffffn);
  return (data, signs) => {
    // Two 32-bit words per value (little-endian): exact, and no BigInt per row.
    const values = data.values as BigInt64Array;
    const words = new Int32Array(values.buffer, values.byteOffset, data.length * 2);
    for (let i = 0, w = 0; i < data.length; i++, w += 2) {
      const hi = words[w + 1];
      if (hi !== high) {
        signs[i] = hi < high ? -1 : 1;
      } else {
        const lo = words[w] >>> 0;
        signs[i] = lo < low ? -1 : lo > low ? 1 : 0;
      }
    }
  };
}

function int32Signs(literal: number): SignWriter {
  return (data, signs) => {
    const values = data.values as Int32Array;
    for (let i = 0; i < data.length; i++) {
      const v = values[i];
      signs[i] = v < literal ? -1 : v > literal ? 1 : 0;
    }
  };
}

function boolSigns(literal: boolean): SignWriter {
  return (data, signs) => {
    const bits = data.values as Uint8Array;
    for (let i = 0; i < data.length; i++) {
      const bit = data.offset + i;
      const v = (bits[bit >> 3] >> (bit & 7)) & 1;
      signs[i] = v === +literal ? 0 : v ? 1 : -1;
    }
  };
}

/** Byte-wise order of UTF-8, which is code point order. */
function bytesSigns(literal: Uint8Array): SignWriter {
  const length = literal.length;
  return (data, signs) => {
    const offsets = data.valueOffsets as Int32Array;
    const bytes = data.values as Uint8Array;
    for (let i = 0; i < data.length; i++) {
      const start = offsets[i];
      const size = offsets[i + 1] - start;
      const common = size < length ? size : length;
      let sign = 0;
      for (let j = 0; j < common; j++) {
        const d = bytes[start + j] - literal[j];
        if (d !== 0) {
          sign = d < 0 ? -1 : 1;
          break;
        }
      }
      signs[i] = sign !== 0 ? sign : size < length ? -1 : size > length ? 1 : 0;
    }
  };
}

/** Decimal strings compared as numbers: leading zeros skipped, then the longer is larger, then byte order. */
function decimalSigns(literal: bigint): SignWriter {
  const digits = utf8.encode(literal.toString());
  const length = digits.length;
  return (data, signs) => {
    const offsets = data.valueOffsets as Int32Array;
    const bytes = data.values as Uint8Array;
    for (let i = 0; i < data.length; i++) {
      let start = offsets[i];
      const end = offsets[i + 1];
      while (end - start > 1 && bytes[start] === ZERO) start++;
      const size = end - start;
      if (size !== length) {
        signs[i] = size < length ? -1 : 1;
        continue;
      }
      let sign = 0;
      for (let j = 0; j < length; j++) {
        const d = bytes[start + j] - digits[j];
        if (d !== 0) {
          sign = d < 0 ? -1 : 1;
          break;
        }
      }
      signs[i] = sign;
    }
  };
}

function signWriter(kind: ColumnKind, literal: Literal): SignWriter {
  switch (kind) {
    case 'int64':
    case 'timestamp':
      return int64Signs(literal as bigint);
    case 'int32':
      return int32Signs(literal as number);
    case 'bool':
      return boolSigns(literal as boolean);
    case 'string':
    case 'hex':
      return bytesSigns(utf8.encode(literal as string));
    case 'uint256':
      return decimalSigns(literal as bigint);
  }
}

function isValid(data: Data, i: number): boolean {
  const bit = data.offset + i;
  return ((data.nullBitmap as Uint8Array)[bit >> 3] & (1 << (bit & 7))) !== 0;
}

function hasNulls(data: Data): boolean {
  return data.nullCount > 0 && data.nullBitmap !== undefined && data.nullBitmap.length > 0;
}

function markNulls(data: Data, signs: Int8Array): void {
  if (!hasNulls(data)) return;
  for (let i = 0; i < data.length; i++) if (!isValid(data, i)) signs[i] = NULL_SIGN;
}

function signsOf(data: Data, write: SignWriter): Int8Array {
  const signs = new Int8Array(data.length);
  write(data, signs);
  markNulls(data, signs);
  return signs;
}

/** Membership of each row's value in a set of literals, for long `in` lists. */
function membership(kind: ColumnKind, values: Literal[]): (data: Data, mask: Uint8Array) => void {
  const decoder = new TextDecoder();
  switch (kind) {
    case 'int32': {
      const set = new Set(values as number[]);
      return (data, mask) => {
        const v = data.values as Int32Array;
        for (let i = 0; i < data.length; i++) mask[i] = set.has(v[i]) ? 1 : 0;
      };
    }
    case 'int64':
    case 'timestamp': {
      const byHigh = new Map<number, Set<number>>();
      for (const value of values as bigint[]) {
        const high = Number(BigInt.asIntN(64, value) >> 32n);
        let lows = byHigh.get(high);
        if (!lows) byHigh.set(high, (lows = new Set()));
        lows.add(Number(value & 0xffffffffn));
      }
      return (data, mask) => {
        const v = data.values as BigInt64Array;
        const words = new Int32Array(v.buffer, v.byteOffset, data.length * 2);
        for (let i = 0; i < data.length; i++) mask[i] = byHigh.get(words[2 * i + 1])?.has(words[2 * i] >>> 0) ? 1 : 0;
      };
    }
    case 'string':
    case 'hex':
    case 'uint256': {
      const set = new Set(values.map((v) => String(v)));
      const numeric = kind === 'uint256';
      return (data, mask) => {
        const offsets = data.valueOffsets as Int32Array;
        const bytes = data.values as Uint8Array;
        for (let i = 0; i < data.length; i++) {
          let start = offsets[i];
          const end = offsets[i + 1];
          if (numeric) while (end - start > 1 && bytes[start] === ZERO) start++;
          mask[i] = set.has(decoder.decode(bytes.subarray(start, end))) ? 1 : 0;
        }
      };
    }
    case 'bool': {
      const set = new Set(values as boolean[]);
      return (data, mask) => {
        const bits = data.values as Uint8Array;
        for (let i = 0; i < data.length; i++) {
          const bit = data.offset + i;
          mask[i] = set.has(((bits[bit >> 3] >> (bit & 7)) & 1) === 1) ? 1 : 0;
        }
      };
    }
  }
}

function column(batch: RecordBatch, name: string): Data {
  const index = batch.schema.fields.findIndex((f) => f.name === name);
  if (index < 0) throw new Error(`record batch has no column "${name}" to filter on`);
  return batch.data.children[index];
}

function compileLeaf(leaf: LeafPredicate): RowMatcher {
  const { column: name, kind } = leaf;
  switch (leaf.op) {
    case 'in': {
      if (leaf.values.length > IN_LIST_PASSES) {
        const test = membership(kind, leaf.values);
        return (batch) => {
          const data = column(batch, name);
          const mask = new Uint8Array(data.length);
          test(data, mask);
          if (hasNulls(data)) for (let i = 0; i < data.length; i++) if (!isValid(data, i)) mask[i] = 0;
          return mask;
        };
      }
      const writers = leaf.values.map((v) => signWriter(kind, v));
      return (batch) => {
        const data = column(batch, name);
        const mask = new Uint8Array(data.length);
        for (const write of writers) {
          const signs = signsOf(data, write);
          for (let i = 0; i < mask.length; i++) if (signs[i] === 0) mask[i] = 1;
        }
        return mask;
      };
    }
    case 'between': {
      const low = signWriter(kind, leaf.low);
      const high = signWriter(kind, leaf.high);
      return (batch) => {
        const data = column(batch, name);
        const fromLow = signsOf(data, low);
        const fromHigh = signsOf(data, high);
        const mask = new Uint8Array(data.length);
        for (let i = 0; i < mask.length; i++) {
          const a = fromLow[i];
          const b = fromHigh[i];
          mask[i] = (a === 0 || a === 1) && (b === 0 || b === -1) ? 1 : 0;
        }
        return mask;
      };
    }
    default: {
      const write = signWriter(kind, leaf.value);
      const accept = acceptedSigns[leaf.op];
      return (batch) => {
        const signs = signsOf(column(batch, name), write);
        const mask = new Uint8Array(signs.length);
        for (let i = 0; i < mask.length; i++) mask[i] = accept[signs[i] + 1];
        return mask;
      };
    }
  }
}

/** Indexed by sign + 1 (sign -1, 0, 1, NULL_SIGN): whether the comparison holds. */
const acceptedSigns: Record<'eq' | 'ne' | 'lt' | 'lte' | 'gt' | 'gte', Uint8Array> = {
  eq: Uint8Array.of(0, 1, 0, 0),
  ne: Uint8Array.of(1, 0, 1, 0),
  lt: Uint8Array.of(1, 0, 0, 0),
  lte: Uint8Array.of(1, 1, 0, 0),
  gt: Uint8Array.of(0, 0, 1, 0),
  gte: Uint8Array.of(0, 1, 1, 0),
};

/**
 * Compiles a predicate into a function giving, for a record batch holding (at least) the
 * predicate's columns, which rows match. Numeric columns are compared straight from their
 * buffers; no value is materialised per row.
 */
export function compilePredicate(predicate: Predicate): RowMatcher {
  if (!('children' in predicate)) return compileLeaf(predicate);
  const children = predicate.children.map(compilePredicate);
  const isAnd = predicate.op === 'and';
  return (batch) => {
    const mask = children[0](batch);
    for (let c = 1; c < children.length; c++) {
      // Stop once the result can no longer change.
      if (isAnd ? !mask.includes(1) : !mask.includes(0)) break;
      const next = children[c](batch);
      if (isAnd) for (let i = 0; i < mask.length; i++) mask[i] &= next[i];
      else for (let i = 0; i < mask.length; i++) mask[i] |= next[i];
    }
    return mask;
  };
}

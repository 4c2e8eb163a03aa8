import { minimalTwosComplement } from '@chainlake/partitioning';

/**
 * A single value as Iceberg's binary serialization (spec Appendix D) carries it: boolean → boolean;
 * int, date → number; long, time, timestamp(tz) (µs), timestamp(tz)_ns (ns) → bigint (number accepted
 * when encoding); float, double → number; string → string; uuid → string; binary, fixed → Uint8Array;
 * decimal → bigint unscaled value.
 */
export type BoundValue = boolean | number | bigint | string | Uint8Array;

const LONGS = new Set(['long', 'time', 'timestamp', 'timestamptz', 'timestamp_ns', 'timestamptz_ns']);

/** Appendix D binary single-value serialization of `value` as Iceberg type `type`. */
export function encodeBound(type: string, value: BoundValue): Uint8Array {
  const fail = (why: string) => new Error(`cannot serialize ${String(value)} as ${type}: ${why}`);
  if (type === 'boolean') {
    if (typeof value !== 'boolean') throw fail('expected a boolean');
    return Uint8Array.of(value ? 1 : 0);
  }
  if (type === 'int' || type === 'date') {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < -(2 ** 31) || value >= 2 ** 31) throw fail('expected a 32-bit integer');
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setInt32(0, value, true);
    return bytes;
  }
  if (LONGS.has(type)) {
    const v = typeof value === 'number' && Number.isSafeInteger(value) ? BigInt(value) : value;
    if (typeof v !== 'bigint' || BigInt.asIntN(64, v) !== v) throw fail('expected a 64-bit integer');
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setBigInt64(0, v, true);
    return bytes;
  }
  if (type === 'float' || type === 'double') {
    if (typeof value !== 'number') throw fail('expected a number');
    if (Number.isNaN(value)) throw fail('NaN is never a bound');
    const bytes = new Uint8Array(type === 'float' ? 4 : 8);
    const view = new DataView(bytes.buffer);
    if (type === 'float') view.setFloat32(0, value, true);
    else view.setFloat64(0, value, true);
    return bytes;
  }
  if (type === 'string') {
    if (typeof value !== 'string') throw fail('expected a string');
    return new TextEncoder().encode(value);
  }
  if (type === 'uuid') {
    if (typeof value !== 'string' || !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value)) throw fail('expected a uuid string');
    return Uint8Array.from(Buffer.from(value.replace(/-/g, ''), 'hex'));
  }
  if (type === 'binary' || fixedLength(type) !== undefined) {
    if (!(value instanceof Uint8Array)) throw fail('expected a Uint8Array');
    const length = fixedLength(type);
    if (length !== undefined && value.length !== length) throw fail(`expected ${length} bytes, got ${value.length}`);
    return Uint8Array.from(value);
  }
  if (isDecimal(type)) {
    if (typeof value !== 'bigint') throw fail('expected the unscaled value as a bigint');
    return minimalTwosComplement(value);
  }
  throw new Error(`type ${type} has no single-value serialization`);
}

/** Reads an Appendix D serialized value of Iceberg type `type` (see BoundValue for the JS forms). */
export function decodeBound(type: string, bytes: Uint8Array): BoundValue {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fail = () => new Error(`a ${type} bound cannot be ${bytes.length} bytes long`);
  if (type === 'boolean') {
    if (bytes.length !== 1) throw fail();
    return bytes[0] !== 0;
  }
  if (type === 'int' || type === 'date') {
    if (bytes.length !== 4) throw fail();
    return view.getInt32(0, true);
  }
  if (LONGS.has(type)) {
    // A column promoted from int keeps its old 4-byte bounds.
    if (type === 'long' && bytes.length === 4) return BigInt(view.getInt32(0, true));
    if (bytes.length !== 8) throw fail();
    return view.getBigInt64(0, true);
  }
  if (type === 'float') {
    if (bytes.length !== 4) throw fail();
    return view.getFloat32(0, true);
  }
  if (type === 'double') {
    if (bytes.length === 4) return view.getFloat32(0, true);
    if (bytes.length !== 8) throw fail();
    return view.getFloat64(0, true);
  }
  if (type === 'string') return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  if (type === 'uuid') {
    if (bytes.length !== 16) throw fail();
    const hex = Buffer.from(bytes).toString('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }
  if (type === 'binary' || fixedLength(type) !== undefined) return Uint8Array.from(bytes);
  if (isDecimal(type)) {
    if (bytes.length === 0) throw fail();
    let value = 0n;
    for (const byte of bytes) value = (value << 8n) | BigInt(byte);
    return BigInt.asIntN(bytes.length * 8, value);
  }
  throw new Error(`type ${type} has no single-value serialization`);
}

/**
 * Orders two values of the same type as Iceberg does: numbers numerically, strings by Unicode code
 * point (= UTF-8 byte order), binary unsigned lexicographically, false < true.
 */
export function compareValues(a: BoundValue, b: BoundValue): number {
  if (typeof a === 'string' && typeof b === 'string') return compareBytes(new TextEncoder().encode(a), new TextEncoder().encode(b));
  if (a instanceof Uint8Array && b instanceof Uint8Array) return compareBytes(a, b);
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  if ((typeof a === 'number' || typeof a === 'bigint') && (typeof b === 'number' || typeof b === 'bigint')) {
    if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : Object.is(a, -0) && Object.is(b, 0) ? -1 : 0;
    return a < b ? -1 : a > b ? 1 : 0;
  }
  throw new Error(`cannot compare ${typeof a} with ${typeof b}`);
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

function fixedLength(type: string): number | undefined {
  const match = /^fixed\[(\d+)\]$/.exec(type);
  return match ? Number(match[1]) : undefined;
}

function isDecimal(type: string): boolean {
  return /^decimal\(\s*\d+\s*,\s*\d+\s*\)$/.test(type);
}

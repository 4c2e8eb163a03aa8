import { DataType, TimeUnit, type Field, type Schema } from 'apache-arrow';
import { LOGICAL_TYPE_KEY } from '@chainlake/schema';
import { ScanRequestError } from './errors.js';

/**
 * How a column's values compare. Taken from the field's `chainlake.logical_type` metadata when
 * present, else from its Arrow type. uint256 columns hold decimal strings compared as numbers.
 */
export type ColumnKind = 'int64' | 'int32' | 'timestamp' | 'bool' | 'string' | 'hex' | 'uint256';

/** int64, timestamp (µs since the epoch) and uint256 → bigint; int32 → number; bool → boolean; string and hex → string. */
export type Literal = bigint | number | boolean | string;

export type ComparisonOp = 'eq' | 'ne' | 'lt' | 'lte' | 'gt' | 'gte';

/** Several conditions, all (and) or any (or) of which must hold. */
export interface Junction {
  op: 'and' | 'or';
  children: Predicate[];
}

interface OnColumn {
  column: string;
  kind: ColumnKind;
}

export interface Comparison extends OnColumn {
  op: ComparisonOp;
  value: Literal;
}

export interface InList extends OnColumn {
  op: 'in';
  values: Literal[];
}

/** Inclusive at both ends. */
export interface Between extends OnColumn {
  op: 'between';
  low: Literal;
  high: Literal;
}

export type LeafPredicate = Comparison | InList | Between;

/** A parsed, validated filter. Comparisons never match a null value (SQL semantics). */
export type Predicate = Junction | LeafPredicate;
const COMPARISONS: readonly ComparisonOp[] = ['eq', 'ne', 'lt', 'lte', 'gt', 'gte'];
const OPERATORS: readonly string[] = [...COMPARISONS, 'in', 'between'];

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const LOGICAL_KINDS: Record<string, ColumnKind> = {
  int64: 'int64',
  int32: 'int32',
  timestamp: 'timestamp',
  bool: 'bool',
  string: 'string',
  hex: 'hex',
  uint256: 'uint256',
};

/** The comparison kind of a column, or undefined when its type cannot be filtered on. */
export function columnKind(field: Field): ColumnKind | undefined {
  const type = field.type;
  const logical = field.metadata.get(LOGICAL_TYPE_KEY);
  const kind = logical !== undefined && Object.hasOwn(LOGICAL_KINDS, logical) ? LOGICAL_KINDS[logical] : undefined;
  if (DataType.isInt(type)) {
    if (type.bitWidth === 64) return type.isSigned && (kind === undefined || kind === 'int64') ? 'int64' : undefined;
    return kind === undefined || kind === 'int32' ? 'int32' : undefined;
  }
  if (DataType.isTimestamp(type)) return type.unit === TimeUnit.MICROSECOND ? 'timestamp' : undefined;
  if (DataType.isBool(type)) return 'bool';
  if (DataType.isUtf8(type)) return kind === 'hex' || kind === 'uint256' ? kind : 'string';
  return undefined;
}

function describe(value: unknown): string {
  if (typeof value === 'bigint') return `${value}`;
  const json = JSON.stringify(value);
  return json === undefined ? String(value) : json.length > 60 ? `${json.slice(0, 57)}...` : json;
}

function fail(path: string, problem: string): never {
  throw new ScanRequestError('filter', `${path}: ${problem}`);
}

const INTEGER_TEXT = /^-?\d+$/;
// Date, optional time, optional fraction (up to µs), optional zone; no zone means UTC.
const ISO_TIMESTAMP = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2})?)(?:\.(\d{1,6}))?(Z|[+-]\d{2}:?\d{2})?)?$/i;
const HEX_TEXT = /^0x[0-9a-f]*$/i;

function integer(path: string, value: unknown, what: string): bigint {
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) fail(path, `expected ${what}, got ${describe(value)}`);
    if (!Number.isSafeInteger(value)) fail(path, `${describe(value)} is beyond 2^53 and lost precision in JSON; write it as a string`);
    return BigInt(value);
  }
  if (typeof value === 'string' && INTEGER_TEXT.test(value)) return BigInt(value);
  return fail(path, `expected ${what}, got ${describe(value)}`);
}

function timestampMicros(path: string, value: unknown): bigint {
  if (typeof value === 'number' || (typeof value === 'string' && INTEGER_TEXT.test(value))) {
    return integer(path, value, 'microseconds since the epoch');
  }
  if (typeof value === 'string') {
    const match = ISO_TIMESTAMP.exec(value);
    if (match) {
      const [, date, time = '00:00:00', fraction = '', zone = 'Z'] = match;
      const millis = Date.parse(`${date}T${time.length === 5 ? `${time}:00` : time}${zone}`);
      // Date.parse rolls impossible days over (Feb 30 → Mar 1); refuse them instead.
      const realDay = Number.isFinite(Date.parse(date)) && new Date(Date.parse(date)).toISOString().startsWith(date);
      if (Number.isFinite(millis) && realDay) return BigInt(millis) * 1000n + BigInt(fraction.padEnd(6, '0'));
    }
  }
  return fail(path, `expected an ISO 8601 timestamp (e.g. "2024-01-01T00:00:00Z", at most 6 fractional digits) or microseconds since the epoch, got ${describe(value)}`);
}

function literal(path: string, kind: ColumnKind, value: unknown): Literal {
  if (value === null || value === undefined) fail(path, 'null never matches a comparison; give a value');
  switch (kind) {
    case 'int64': {
      const n = integer(path, value, 'an integer');
      if (n < INT64_MIN || n > INT64_MAX) fail(path, `${n} is outside the 64-bit integer range`);
      return n;
    }
    case 'int32': {
      const n = integer(path, value, 'an integer');
      if (n < BigInt(INT32_MIN) || n > BigInt(INT32_MAX)) fail(path, `${n} is outside the 32-bit integer range`);
      return Number(n);
    }
    case 'uint256': {
      const n = integer(path, value, 'a non-negative integer (a number or a decimal string)');
      if (n < 0n) fail(path, `${n} is negative; the column holds unsigned amounts`);
      return n;
    }
    case 'timestamp':
      return timestampMicros(path, value);
    case 'bool':
      if (typeof value !== 'boolean') fail(path, `expected true or false, got ${describe(value)}`);
      return value;
    case 'hex':
      if (typeof value !== 'string' || !HEX_TEXT.test(value)) fail(path, `expected a 0x-prefixed hex string, got ${describe(value)}`);
      return value.toLowerCase();
    case 'string':
      if (typeof value !== 'string') fail(path, `expected a string, got ${describe(value)}`);
      return value;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Orders two literals of the same kind (bigint, number, boolean or string). */
export function compareLiterals(a: Literal, b: Literal): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function columnPredicates(path: string, field: Field, kind: ColumnKind, spec: unknown): Predicate[] {
  if (!isPlainObject(spec)) {
    fail(path, `expected an object of operators (${OPERATORS.join(', ')}), e.g. {"gte": 1}, got ${describe(spec)}`);
  }
  const ops = Object.entries(spec);
  if (ops.length === 0) fail(path, `no operator given (use ${OPERATORS.join(', ')})`);
  const column = field.name;
  return ops.map(([op, operand]): Predicate => {
    const at = `${path}.${op}`;
    if ((COMPARISONS as readonly string[]).includes(op)) {
      return { op: op as ComparisonOp, column, kind, value: literal(at, kind, operand) };
    }
    if (op === 'in') {
      if (!Array.isArray(operand)) fail(at, `expected an array of values, got ${describe(operand)}`);
      if (operand.length === 0) fail(at, 'the list is empty; it would match nothing');
      const values = operand.map((v, i) => literal(`${at}[${i}]`, kind, v));
      const distinct = [...new Set(values)];
      return { op: 'in', column, kind, values: distinct };
    }
    if (op === 'between') {
      if (!Array.isArray(operand) || operand.length !== 2) fail(at, `expected [low, high], got ${describe(operand)}`);
      const low = literal(`${at}[0]`, kind, operand[0]);
      const high = literal(`${at}[1]`, kind, operand[1]);
      if (compareLiterals(low, high) > 0) fail(at, `low ${describe(operand[0])} is above high ${describe(operand[1])}`);
      return { op: 'between', column, kind, low, high };
    }
    return fail(at, `unknown operator "${op}" (use ${OPERATORS.join(', ')})`);
  });
}

function parseNode(path: string, where: unknown, schema: Schema): Predicate {
  if (!isPlainObject(where)) fail(path, `expected an object like {"block_number": {"gte": 100}}, got ${describe(where)}`);
  const children: Predicate[] = [];
  for (const [key, spec] of Object.entries(where)) {
    const at = `${path}.${key}`;
    if (key === 'and' || key === 'or') {
      if (!Array.isArray(spec) || spec.length === 0) fail(at, `expected a non-empty array of conditions, got ${describe(spec)}`);
      const parts = spec.map((part, i) => parseNode(`${at}[${i}]`, part, schema));
      children.push(parts.length === 1 ? parts[0] : { op: key, children: parts });
      continue;
    }
    const field = schema.fields.find((f) => f.name === key);
    if (!field) throw new ScanRequestError('column', `${at}: unknown column "${key}" (columns: ${schema.fields.map((f) => f.name).join(', ')})`);
    const kind = columnKind(field);
    if (!kind) fail(at, `column "${key}" of type ${field.type} cannot be filtered on`);
    children.push(...columnPredicates(at, field, kind, spec));
  }
  return children.length === 1 ? children[0] : { op: 'and', children };
}

/**
 * Parses the `where` JSON of a scan against the table's schema:
 * `{"<column>": {"eq"|"ne"|"lt"|"lte"|"gt"|"gte": v, "in": [...], "between": [lo, hi]}, "and": [...], "or": [...]}`;
 * the entries of one object, and several operators on one column, are and-ed.
 * Returns undefined when there is nothing to filter (absent or `{}`).
 * Throws {@link ScanRequestError} naming the offending path and value.
 */
export function parseWhere(where: unknown, schema: Schema): Predicate | undefined {
  if (where === undefined || where === null) return undefined;
  if (isPlainObject(where) && Object.keys(where).length === 0) return undefined;
  return parseNode('where', where, schema);
}

/** Names of the columns a predicate reads, in first-use order. */
export function predicateColumns(predicate: Predicate | undefined): string[] {
  const names = new Set<string>();
  const visit = (p: Predicate): void => {
    if ('children' in p) p.children.forEach(visit);
    else names.add(p.column);
  };
  if (predicate) visit(predicate);
  return [...names];
}

import type { ColumnKind, Literal, Predicate } from './predicate.js';

/**
 * What a file or row group is known to hold in one column. Bounds need not be tight, only true:
 * every non-null value v has min ≤ v ≤ max (truncated string bounds qualify).
 * min/max: bigint or integer number for int64, int32 and timestamp (µs) columns; boolean for bool;
 * string or UTF-8 bytes for string and hex columns. Anything else counts as unknown.
 */
export interface ColumnStats {
  min?: unknown;
  max?: unknown;
  nullCount?: number | bigint;
  /** Rows in the file or row group, to tell an all-null column. */
  rowCount?: number | bigint;
}

export type StatsLookup = (column: string) => ColumnStats | undefined;

type Bound = bigint | number | boolean | Uint8Array;

const utf8 = new TextEncoder();

/** A bound in the column's comparison domain, or undefined when it cannot be trusted for ordering. */
function bound(kind: ColumnKind, value: unknown): Bound | undefined {
  switch (kind) {
    case 'int64':
    case 'timestamp':
      if (typeof value === 'bigint') return value;
      return typeof value === 'number' && Number.isSafeInteger(value) ? BigInt(value) : undefined;
    case 'int32':
      if (typeof value === 'number' && Number.isInteger(value)) return value;
      return typeof value === 'bigint' ? Number(value) : undefined;
    case 'bool':
      return typeof value === 'boolean' ? value : undefined;
    case 'string':
    case 'hex':
      if (typeof value === 'string') return utf8.encode(value);
      return value instanceof Uint8Array ? value : undefined;
    case 'uint256':
      // Bounds of decimal strings are lexical ("10" < "9"): they say nothing about numeric order.
      return undefined;
  }
}

function literalBound(kind: ColumnKind, value: Literal): Bound {
  return kind === 'string' || kind === 'hex' ? utf8.encode(value as string) : (value as Bound);
}

function compareBounds(a: Bound, b: Bound): number {
  if (a instanceof Uint8Array) return Buffer.compare(a, b as Uint8Array);
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Whether any row described by `statsFor` may satisfy the predicate. Conservative: a column
 * without usable statistics may hold anything, so only a provable miss returns false.
 */
export function mayMatch(predicate: Predicate | undefined, statsFor: StatsLookup): boolean {
  if (!predicate) return true;
  if ('children' in predicate) {
    const mayChildMatch = (child: Predicate) => mayMatch(child, statsFor);
    return predicate.op === 'and' ? predicate.children.every(mayChildMatch) : predicate.children.some(mayChildMatch);
  }

  const stats = statsFor(predicate.column);
  if (!stats) return true;
  if (stats.rowCount !== undefined && Number(stats.rowCount) === 0) return false;
  // Comparisons never match nulls, so a column of nulls only matches nothing.
  if (stats.nullCount !== undefined && stats.rowCount !== undefined && Number(stats.nullCount) >= Number(stats.rowCount)) return false;

  const { kind } = predicate;
  const min = bound(kind, stats.min);
  const max = bound(kind, stats.max);
  // Each test: true unless the known bounds rule every value out.
  const minAbove = (v: Literal, orEqual: boolean) => min !== undefined && compareBounds(min, literalBound(kind, v)) >= (orEqual ? 0 : 1);
  const maxBelow = (v: Literal, orEqual: boolean) => max !== undefined && compareBounds(max, literalBound(kind, v)) <= (orEqual ? 0 : -1);
  const mayEqual = (v: Literal) => !minAbove(v, false) && !maxBelow(v, false);

  switch (predicate.op) {
    case 'eq':
      return mayEqual(predicate.value);
    case 'ne':
      return !(minAbove(predicate.value, true) && maxBelow(predicate.value, true));
    case 'lt':
      return !minAbove(predicate.value, true);
    case 'lte':
      return !minAbove(predicate.value, false);
    case 'gt':
      return !maxBelow(predicate.value, true);
    case 'gte':
      return !maxBelow(predicate.value, false);
    case 'in':
      return predicate.values.some(mayEqual);
    case 'between':
      return !maxBelow(predicate.low, false) && !minAbove(predicate.high, false);
  }
}

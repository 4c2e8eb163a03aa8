/** Where a bad value was found; every part is optional because some callers only know the column. */
export interface RowErrorLocation {
  dataset?: string;
  column?: string;
  row?: number;
}

/**
 * A value that cannot be represented in its dataset column (out of range, malformed). Data
 * errors are never wrapped or truncated: the segment is rejected with this error instead.
 */
export class RowError extends Error {
  readonly dataset?: string;
  readonly column?: string;
  readonly row?: number;

  constructor(message: string, location: RowErrorLocation = {}) {
    super(message);
    this.name = 'RowError';
    this.dataset = location.dataset;
    this.column = location.column;
    this.row = location.row;
  }
}

export const INT64_MAX = (1n << 63n) - 1n;

/** Checks that a uint64 protocol value fits Int64 (every real one does) instead of wrapping it. */
export function toInt64(value: bigint, column: string): bigint {
  if (value < 0n || value > INT64_MAX) {
    throw new RowError(`${column}: value ${value} is outside the Int64 range [0, 2^63-1]`, { column });
  }
  return value;
}

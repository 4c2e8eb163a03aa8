import { Type, TimeUnit, type DataType, type Timestamp } from 'apache-arrow';
import type { ColumnDef, LogicalType } from '@chainlake/schema';

/** How a column travels in PostgreSQL's binary COPY format. */
export type WireKind = 'int64' | 'int32' | 'bool' | 'timestamp' | 'numeric' | 'text';

export const wireKind = (type: LogicalType): WireKind =>
  type === 'uint256' ? 'numeric' : type === 'hex' || type === 'string' ? 'text' : type;

/** Microseconds from the Unix epoch to PostgreSQL's epoch (2000-01-01), split in 32-bit halves for exact int64 arithmetic. */
const PG_EPOCH_US = 946_684_800_000_000;
export const PG_EPOCH_HI = Math.floor(PG_EPOCH_US / 2 ** 32);
export const PG_EPOCH_LO = PG_EPOCH_US - PG_EPOCH_HI * 2 ** 32;

/** uint256 has at most 78 decimal digits; the column is numeric(78,0). */
export const MAX_NUMERIC_DIGITS = 78;

/** The Arrow type a column must have, checked before anything is written. */
export function checkArrowType(column: ColumnDef, type: DataType, dataset: string): void {
  const expected: Record<WireKind, (t: DataType) => boolean> = {
    int64: (t) => t.typeId === Type.Int && (t as unknown as { bitWidth: number }).bitWidth === 64,
    int32: (t) => t.typeId === Type.Int && (t as unknown as { bitWidth: number }).bitWidth === 32,
    bool: (t) => t.typeId === Type.Bool,
    timestamp: (t) => t.typeId === Type.Timestamp && (t as Timestamp).unit === TimeUnit.MICROSECOND,
    numeric: (t) => t.typeId === Type.Utf8,
    text: (t) => t.typeId === Type.Utf8,
  };
  const kind = wireKind(column.type);
  if (!expected[kind](type)) {
    throw new Error(`${dataset}.${column.name}: expected an Arrow column for ${column.type}, got ${type}`);
  }
}

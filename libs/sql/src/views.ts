import { DataType, type Decimal, type Field, type Int, type List, type Schema, type Timestamp, TimeUnit } from 'apache-arrow';

export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

export function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

const TIMESTAMP_TYPES: Record<TimeUnit, string> = {
  [TimeUnit.SECOND]: 'TIMESTAMP_S',
  [TimeUnit.MILLISECOND]: 'TIMESTAMP_MS',
  [TimeUnit.MICROSECOND]: 'TIMESTAMP',
  [TimeUnit.NANOSECOND]: 'TIMESTAMP_NS',
};

/** The DuckDB type DuckDB gives a Parquet column written from this Arrow type. */
export function duckdbType(type: DataType): string {
  if (DataType.isDictionary(type)) return duckdbType(type.dictionary);
  if (DataType.isInt(type)) {
    const { bitWidth, isSigned } = type as Int;
    const name = { 8: 'TINYINT', 16: 'SMALLINT', 32: 'INTEGER', 64: 'BIGINT' }[bitWidth];
    return isSigned ? name : `U${name}`;
  }
  if (DataType.isFloat(type)) return type.precision === 0 || type.precision === 1 ? 'FLOAT' : 'DOUBLE';
  if (DataType.isUtf8(type) || DataType.isLargeUtf8(type)) return 'VARCHAR';
  if (DataType.isBinary(type) || DataType.isLargeBinary(type) || DataType.isFixedSizeBinary(type)) return 'BLOB';
  if (DataType.isBool(type)) return 'BOOLEAN';
  if (DataType.isDate(type)) return 'DATE';
  if (DataType.isTime(type)) return 'TIME';
  if (DataType.isTimestamp(type)) {
    const { unit, timezone } = type as Timestamp;
    return timezone ? 'TIMESTAMP WITH TIME ZONE' : TIMESTAMP_TYPES[unit];
  }
  if (DataType.isDecimal(type)) return `DECIMAL(${(type as Decimal).precision}, ${(type as Decimal).scale})`;
  if (DataType.isList(type)) return `${duckdbType((type as List).valueType)}[]`;
  if (DataType.isStruct(type)) return `STRUCT(${type.children.map((child) => `${quoteIdentifier(child.name)} ${duckdbType(child.type)}`).join(', ')})`;
  throw new Error(`no DuckDB type for Arrow ${type}`);
}

/**
 * The body of a table's view: the table's columns, in its schema's order, read from its
 * current Parquet files; a table without files is an empty relation with the same columns.
 */
export function viewQuery(schema: Schema, files: string[]): string {
  const columns = schema.fields.map((field: Field) => quoteIdentifier(field.name));
  if (files.length === 0) {
    const typed = schema.fields.map((field) => `CAST(NULL AS ${duckdbType(field.type)}) AS ${quoteIdentifier(field.name)}`);
    return `SELECT ${typed.join(', ')} WHERE false`;
  }
  // union_by_name: files written before a column was added read it as NULL instead of failing the scan
  const list = files.map(quoteLiteral).join(', ');
  return `SELECT ${columns.join(', ')} FROM read_parquet([${list}], hive_partitioning = false, union_by_name = true)`;
}

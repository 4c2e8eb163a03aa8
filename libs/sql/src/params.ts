import { DuckDBTimestampTZValue, type DuckDBPreparedStatement } from '@duckdb/node-api';
import { Field, Null, Schema } from 'apache-arrow';
import { arrowField } from './arrow.js';
import { SqlError } from './errors.js';

/** A parameter value: Date binds as TIMESTAMP WITH TIME ZONE, bigint as BIGINT (HUGEINT beyond 64 bits). */
export type SqlValue = string | number | bigint | boolean | Date | null;
/** Positional (`?`, `$1`) or named (`$name`) parameters. */
export type SqlParams = SqlValue[] | Record<string, SqlValue>;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function bindOne(statement: DuckDBPreparedStatement, index: number, value: SqlValue): void {
  if (value === null) statement.bindNull(index);
  else if (typeof value === 'boolean') statement.bindBoolean(index, value);
  else if (typeof value === 'string') statement.bindVarchar(index, value);
  else if (typeof value === 'bigint') {
    if (value >= INT64_MIN && value <= INT64_MAX) statement.bindBigInt(index, value);
    else statement.bindHugeInt(index, value);
  } else if (typeof value === 'number') {
    if (Number.isSafeInteger(value)) statement.bindBigInt(index, BigInt(value));
    else statement.bindDouble(index, value);
  } else if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new SqlError(`parameter ${index} is an invalid Date`);
    statement.bindTimestampTZ(index, new DuckDBTimestampTZValue(BigInt(value.getTime()) * 1000n));
  } else {
    throw new SqlError(`parameter ${index} has an unsupported type ${typeof value}`);
  }
}

export function bindParams(statement: DuckDBPreparedStatement, params: SqlParams | undefined): void {
  const expected = statement.parameterCount;
  if (params === undefined || Array.isArray(params)) {
    const values = params ?? [];
    if (values.length !== expected) throw new SqlError(`the statement has ${expected} parameter(s), ${values.length} given`);
    values.forEach((value, i) => bindOne(statement, i + 1, value));
    return;
  }
  const names = Object.keys(params);
  if (names.length !== expected) throw new SqlError(`the statement has ${expected} parameter(s), ${names.length} given (${names.join(', ')})`);
  for (const name of names) {
    let index: number;
    try {
      index = statement.parameterIndex(name);
    } catch {
      throw new SqlError(`the statement has no parameter named ${name}`);
    }
    bindOne(statement, index, params[name]);
  }
}

/** The parameters a statement expects, as a schema (named by DuckDB: "1", "2" … or the $name); Null where DuckDB cannot tell the type. */
export function parameterSchema(statement: DuckDBPreparedStatement): Schema {
  const fields: Field[] = [];
  for (let i = 1; i <= statement.parameterCount; i++) {
    const name = statement.parameterName(i);
    let field: Field;
    try {
      field = arrowField(name, statement.parameterType(i));
    } catch {
      field = new Field(name, new Null(), true);
    }
    fields.push(field);
  }
  return new Schema(fields);
}

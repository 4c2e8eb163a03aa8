import type { DatasetDef, LogicalType } from './datasets.js';

const postgresTypes: Record<LogicalType, string> = {
  int64: 'bigint',
  int32: 'integer',
  uint256: 'numeric(78,0)',
  hex: 'text',
  string: 'text',
  timestamp: 'timestamptz',
  bool: 'boolean',
};

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

/** Quotes a PostgreSQL identifier after checking it is a plain lowercase name of at most 63 bytes. */
export function quoteIdent(name: string): string {
  if (!IDENTIFIER.test(name) || name.length > 63) {
    throw new Error(
      `invalid PostgreSQL identifier "${name}": use 1-63 characters from a-z, 0-9 and _, not starting with a digit`,
    );
  }
  return `"${name}"`;
}

/** CREATE TABLE IF NOT EXISTS for a dataset's hot table; the primary key is the sort key. */
export function postgresDdl(def: DatasetDef, schema: string, table: string = def.name): string {
  const columns = def.columns.map(
    (c) => `  ${quoteIdent(c.name)} ${postgresTypes[c.type]}${c.nullable ? '' : ' NOT NULL'}`,
  );
  const primaryKey = `  PRIMARY KEY (${def.sortKey.map(quoteIdent).join(', ')})`;
  return `CREATE TABLE IF NOT EXISTS ${quoteIdent(schema)}.${quoteIdent(table)} (\n${[...columns, primaryKey].join(',\n')}\n)`;
}

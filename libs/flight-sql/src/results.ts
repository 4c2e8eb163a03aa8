import {
  Binary,
  Bool,
  DenseUnion,
  Field,
  Int32,
  Int64,
  List,
  makeData,
  Map_,
  RecordBatch,
  Schema,
  Struct,
  Uint32,
  Utf8,
  vectorFromArray,
  type Data,
  type DataType,
} from 'apache-arrow';

/** The result schemas FlightSql.proto defines for the metadata commands. */
const utf8 = (name: string, nullable: boolean): Field => new Field(name, new Utf8(), nullable);

export const CATALOGS_SCHEMA = new Schema([utf8('catalog_name', false)]);
export const DB_SCHEMAS_SCHEMA = new Schema([utf8('catalog_name', true), utf8('db_schema_name', false)]);
export const TABLE_TYPES_SCHEMA = new Schema([utf8('table_type', false)]);

const TABLES_FIELDS = [utf8('catalog_name', true), utf8('db_schema_name', true), utf8('table_name', false), utf8('table_type', false)];
/** With include_schema, `table_schema` holds each table's schema as an encapsulated IPC Schema message. */
export function tablesSchema(includeSchema: boolean): Schema {
  return new Schema(includeSchema ? [...TABLES_FIELDS, new Field('table_schema', new Binary(), false)] : TABLES_FIELDS);
}

/** GetSqlInfo's value column: one dense union member per kind of answer (type ids 0–5 in this order). */
const SQL_INFO_VALUE = new DenseUnion(
  [0, 1, 2, 3, 4, 5],
  [
    new Field('string_value', new Utf8(), false),
    new Field('bool_value', new Bool(), false),
    new Field('bigint_value', new Int64(), false),
    new Field('int32_bitmask', new Int32(), false),
    new Field('string_list', new List(new Field('string_data', new Utf8(), true)), true),
    new Field(
      'int32_to_int32_list_map',
      new Map_(
        new Field(
          'entries',
          new Struct<{ key: Int32; value: List<Int32> }>([
            new Field('key', new Int32(), false),
            new Field('value', new List(new Field('$data$', new Int32(), true)), true),
          ]),
          false,
        ),
      ),
      true,
    ),
  ],
);
export const SQL_INFO_SCHEMA = new Schema([new Field('info_name', new Uint32(), false), new Field('value', SQL_INFO_VALUE, false)]);

/**
 * A GetSqlInfo answer: string → string_value, boolean → bool_value, bigint → bigint_value,
 * number → int32_bitmask (bitmasks and int32 ordinals alike), string[] → string_list.
 */
export type SqlInfoValue = string | boolean | bigint | number | string[];

function column<T extends DataType>(values: unknown[], type: T): Data<T> {
  return vectorFromArray(values, type).data[0];
}

function text(values: Array<string | null>): Data<Utf8> {
  return column(values, new Utf8());
}

function batch(schema: Schema, columns: Data[]): RecordBatch {
  const length = columns[0]?.length ?? 0;
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length, nullCount: 0, children: columns }));
}

export function catalogsBatch(catalogs: string[]): RecordBatch {
  return batch(CATALOGS_SCHEMA, [text(catalogs)]);
}

export function dbSchemasBatch(rows: Array<{ catalog: string | null; dbSchema: string }>): RecordBatch {
  return batch(DB_SCHEMAS_SCHEMA, [text(rows.map((row) => row.catalog)), text(rows.map((row) => row.dbSchema))]);
}

export interface TableRow {
  catalog: string | null;
  dbSchema: string | null;
  table: string;
  tableType: string;
  /** The table's schema as an encapsulated IPC message; required when the batch includes schemas. */
  schema?: Uint8Array;
}

export function tablesBatch(rows: TableRow[], includeSchema: boolean): RecordBatch {
  const columns: Data[] = [
    text(rows.map((row) => row.catalog)),
    text(rows.map((row) => row.dbSchema)),
    text(rows.map((row) => row.table)),
    text(rows.map((row) => row.tableType)),
  ];
  if (includeSchema) {
    columns.push(
      column(
        rows.map((row) => {
          if (!row.schema) throw new Error(`table ${row.table} has no schema to include`);
          return row.schema;
        }),
        new Binary(),
      ),
    );
  }
  return batch(tablesSchema(includeSchema), columns);
}

export function tableTypesBatch(types: string[]): RecordBatch {
  return batch(TABLE_TYPES_SCHEMA, [text(types)]);
}

export function sqlInfoBatch(entries: Array<[id: number, value: SqlInfoValue]>): RecordBatch {
  const members: unknown[][] = [[], [], [], [], [], []];
  const typeIds = new Int8Array(entries.length);
  const valueOffsets = new Int32Array(entries.length);
  entries.forEach(([, value], row) => {
    const member =
      typeof value === 'string' ? 0 : typeof value === 'boolean' ? 1 : typeof value === 'bigint' ? 2 : typeof value === 'number' ? 3 : 4;
    if (member === 3 && !Number.isInteger(value)) throw new Error(`SqlInfo value ${String(value)} is not an int32`);
    typeIds[row] = member;
    valueOffsets[row] = members[member].length;
    members[member].push(value);
  });
  const value = makeData({
    type: SQL_INFO_VALUE,
    length: entries.length,
    nullCount: 0,
    typeIds,
    valueOffsets,
    children: SQL_INFO_VALUE.children.map((field, member) => column(members[member], field.type)),
  });
  return batch(SQL_INFO_SCHEMA, [column(entries.map(([id]) => id), new Uint32()), value]);
}

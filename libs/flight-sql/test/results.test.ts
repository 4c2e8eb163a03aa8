import { Field, Int64, RecordBatchReader, Schema, Table, tableFromIPC, tableToIPC, UnionMode, Utf8, type RecordBatch, type Union } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { catalogsBatch, dbSchemasBatch, matchesPattern, SQL_INFO_SCHEMA, sqlInfoBatch, tablesBatch, tableTypesBatch } from '../src/index.js';

/** Through Arrow IPC and back, as a client receives it. */
const wire = (batch: RecordBatch): Table => tableFromIPC(tableToIPC(new Table([batch])));

describe('metadata result batches', () => {
  it('catalogs, schemas and table types carry the spec columns', () => {
    expect(wire(catalogsBatch(['chainlake'])).toArray().map((row) => row.toJSON())).toEqual([{ catalog_name: 'chainlake' }]);
    const schemas = wire(dbSchemasBatch([{ catalog: 'chainlake', dbSchema: 'eth' }, { catalog: null, dbSchema: 'x' }]));
    expect(schemas.schema.fields.map((f) => `${f.name}:${f.type}:${f.nullable}`)).toEqual(['catalog_name:Utf8:true', 'db_schema_name:Utf8:false']);
    expect(schemas.toArray().map((row) => row.toJSON())).toEqual([
      { catalog_name: 'chainlake', db_schema_name: 'eth' },
      { catalog_name: null, db_schema_name: 'x' },
    ]);
    expect(wire(tableTypesBatch(['TABLE'])).getChild('table_type')!.toArray()).toEqual(['TABLE']);
    expect(wire(catalogsBatch([])).numRows).toBe(0);
  });

  it('tables with include_schema carry each schema as an IPC message', () => {
    const blocks = new Schema([new Field('number', new Int64(), false), new Field('hash', new Utf8(), false)]);
    const ipcSchema = tableToIPC(new Table(blocks), 'stream').subarray(0, -8); // the schema message, without the end-of-stream marker
    const table = wire(tablesBatch([{ catalog: 'chainlake', dbSchema: 'eth', table: 'blocks', tableType: 'TABLE', schema: ipcSchema }], true));
    expect(table.schema.fields.map((f) => f.name)).toEqual(['catalog_name', 'db_schema_name', 'table_name', 'table_type', 'table_schema']);
    const bytes = table.getChild('table_schema')!.get(0) as Uint8Array;
    const reader = RecordBatchReader.from(bytes);
    reader.open();
    expect(reader.schema.fields.map((f) => `${f.name}:${f.type}`)).toEqual(['number:Int64', 'hash:Utf8']);
    expect(wire(tablesBatch([{ catalog: null, dbSchema: 'eth', table: 'logs', tableType: 'TABLE' }], false)).schema.fields).toHaveLength(4);
    expect(() => tablesBatch([{ catalog: null, dbSchema: 'eth', table: 'logs', tableType: 'TABLE' }], true)).toThrow('table logs has no schema to include');
  });

  it('sql info answers each value in its dense union member', () => {
    const table = wire(sqlInfoBatch([[0, 'chainlake'], [3, true], [100, 600_000], [504, '"'], [508, ['SELECT', 'FROM']], [10_000, 12n]]));
    expect(table.schema.fields.map((f) => f.name)).toEqual(SQL_INFO_SCHEMA.fields.map((f) => f.name));
    expect((table.schema.fields[1].type as Union).mode).toBe(UnionMode.Dense);
    const values = table.getChild('value')!;
    expect(Array.from(table.getChild('info_name')!.toArray() as Uint32Array)).toEqual([0, 3, 100, 504, 508, 10_000]);
    expect(values.get(0)).toBe('chainlake');
    expect(values.get(1)).toBe(true);
    expect(values.get(2)).toBe(600_000);
    expect(values.get(3)).toBe('"');
    expect(Array.from(values.get(4) as Iterable<string>)).toEqual(['SELECT', 'FROM']);
    expect(values.get(5)).toBe(12n);
    expect(Array.from(values.data[0].typeIds.subarray(0, 6))).toEqual([0, 1, 3, 0, 4, 2]);
    expect(() => sqlInfoBatch([[1, 1.5]])).toThrow('not an int32');
  });
});

describe('matchesPattern', () => {
  it('implements % and _ with backslash escapes', () => {
    const match = (pattern: string | undefined, value: string): boolean => matchesPattern(pattern)(value);
    expect(match(undefined, 'anything')).toBe(true);
    expect(match('%', '')).toBe(true);
    expect(match('syn%', 'synthetic')).toBe(true);
    expect(match('syn%', 'xsynthetic')).toBe(false);
    expect(match('b_ocks', 'blocks')).toBe(true);
    expect(match('b_ocks', 'bocks')).toBe(false);
    expect(match('a\\_b', 'a_b')).toBe(true);
    expect(match('a\\_b', 'axb')).toBe(false);
    expect(match('100\\%', '100%')).toBe(true);
    expect(match('a.b', 'axb')).toBe(false);
    expect(match('(x)', '(x)')).toBe(true);
  });
});

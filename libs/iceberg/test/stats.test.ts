import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Field, Int64, RecordBatch, Schema, Struct, Utf8, makeData, vectorFromArray } from 'apache-arrow';
import { FIELD_ID_KEY, icebergSchema, transactions } from '@chainlake/schema';
import { writeParquet } from '@chainlake/lake';
import { tempDir } from '@chainlake/testkit';
import { BOUND_TRUNCATE_LENGTH, compareValues, dataFileFromParquet, decodeBound, type IcebergSchema } from '../src/index.js';
import { transactionRows, writeTransactions } from './helpers.js';

const schema = icebergSchema(transactions);
const id = (name: string) => schema.fields.find((f) => f.name === name)!.id;
let dir: { path: string; remove: () => Promise<void> };

beforeAll(async () => {
  dir = await tempDir('iceberg-stats');
});
afterAll(async () => {
  await dir?.remove();
});

describe('dataFileFromParquet', () => {
  it('reads counts, sizes, bounds and split offsets of a file written by libs/lake', async () => {
    const rows = transactionRows(10, 29, 5);
    const path = join(dir.path, 'tx.parquet');
    await writeTransactions(path, rows, 32);
    const file = await dataFileFromParquet(path, `file://${path}`, { block_number_trunc: 0 }, schema);

    expect(file.filePath).toBe(`file://${path}`);
    expect(file.partition).toEqual({ block_number_trunc: 0 });
    expect(file.recordCount).toBe(100);
    expect(file.fileSizeInBytes).toBe((await stat(path)).size);
    expect(file.splitOffsets!.length).toBe(4);
    expect(file.splitOffsets![0]).toBe(4);
    expect([...file.splitOffsets!].sort((a, b) => a - b)).toEqual(file.splitOffsets);
    for (const field of schema.fields) {
      expect(file.valueCounts.get(field.id)).toBe(100);
      expect(file.columnSizes.get(field.id)).toBeGreaterThan(0);
    }
    expect(file.nullValueCounts.get(id('to_address'))).toBe(rows.filter((r) => r.to_address === null).length);
    expect(file.nullValueCounts.get(id('max_fee_per_gas'))).toBe(40);
    expect(file.nullValueCounts.get(id('block_number'))).toBe(0);

    const bound = (name: string, which: 'lower' | 'upper') => {
      const field = schema.fields.find((f) => f.name === name)!;
      return decodeBound(field.type, (which === 'lower' ? file.lowerBounds : file.upperBounds).get(field.id)!);
    };
    expect(bound('block_number', 'lower')).toBe(10n);
    expect(bound('block_number', 'upper')).toBe(29n);
    expect(bound('block_timestamp', 'lower')).toBe(rows[0]!.block_timestamp);
    expect(bound('block_timestamp', 'upper')).toBe(rows.at(-1)!.block_timestamp);
    expect(bound('transaction_index', 'lower')).toBe(0);
    expect(bound('transaction_index', 'upper')).toBe(4);
    expect(bound('success', 'lower')).toBe(false);
    expect(bound('success', 'upper')).toBe(true);

    // Strings: truncated to 16 code points; the lower bound is a prefix, the upper bound rounded up.
    for (const name of ['transaction_hash', 'value', 'from_address', 'input']) {
      const values = rows.map((r) => r[name as 'value']).sort((a, b) => compareValues(a, b));
      const lower = bound(name, 'lower') as string;
      const upper = bound(name, 'upper') as string;
      expect(lower.length).toBeLessThanOrEqual(BOUND_TRUNCATE_LENGTH);
      expect(values[0]!.startsWith(lower)).toBe(true);
      expect(compareValues(upper, values.at(-1)!)).toBeGreaterThanOrEqual(0);
    }
    expect(bound('transaction_hash', 'lower')).toBe(rows[0]!.transaction_hash.slice(0, 16));
    expect(bound('transaction_hash', 'upper')).toBe(`${rows.at(-1)!.transaction_hash.slice(0, 15)}1`);
  });

  it('reads only the footer at the tail of a large file', async () => {
    const path = join(dir.path, 'large.parquet');
    await writeTransactions(path, transactionRows(0, 9999, 3));
    const size = (await stat(path)).size;
    const probe = await open(path, 'r');
    const read = vi.spyOn(Object.getPrototypeOf(probe) as { read: (...args: unknown[]) => unknown }, 'read');
    await probe.close();
    try {
      const file = await dataFileFromParquet(path, path, {}, schema);
      expect(file.recordCount).toBe(30_000);
      const ranges = read.mock.calls.map((args) => ({ length: args[2] as number, position: args[3] as number }));
      const bytesRead = ranges.reduce((sum, r) => sum + r.length, 0);
      expect(bytesRead).toBeGreaterThan(0);
      expect(bytesRead).toBeLessThan(size / 4);
      expect(ranges.every((r) => r.position + r.length === size || r.position >= size - bytesRead)).toBe(true);
    } finally {
      read.mockRestore();
    }
  });

  it('matches columns by Parquet field id first, by name when a file has none', async () => {
    const icebergFields: IcebergSchema = {
      type: 'struct',
      'schema-id': 0,
      fields: [
        { id: 1, name: 'block_number', required: true, type: 'long' },
        { id: 2, name: 'label', required: false, type: 'string' },
      ],
    };
    const write = async (name: string, fields: Field[]) => {
      const arrow = new Schema(fields);
      const children = [
        makeData({ type: fields[0]!.type, length: 3, data: BigInt64Array.of(5n, 7n, 6n) } as never),
        vectorFromArray(['b', null, 'a'], new Utf8()).data[0]!,
      ];
      const path = join(dir.path, name);
      await writeParquet(path, arrow, [new RecordBatch(arrow, makeData({ type: new Struct(arrow.fields), length: 3, children, nullCount: 0 }))]);
      return dataFileFromParquet(path, path, {}, icebergFields);
    };
    // Renamed columns that keep their field ids.
    const byId = await write('ids.parquet', [
      new Field('old_block', new Int64(), false, new Map([[FIELD_ID_KEY, '1']])),
      new Field('old_label', new Utf8(), true, new Map([[FIELD_ID_KEY, '2']])),
    ]);
    expect(decodeBound('long', byId.upperBounds.get(1)!)).toBe(7n);
    expect(decodeBound('string', byId.lowerBounds.get(2)!)).toBe('a');
    expect(byId.nullValueCounts.get(2)).toBe(1);

    const byName = await write('names.parquet', [new Field('block_number', new Int64(), false), new Field('label', new Utf8(), true)]);
    expect(decodeBound('long', byName.lowerBounds.get(1)!)).toBe(5n);
    expect(decodeBound('string', byName.upperBounds.get(2)!)).toBe('b');
  });

  it('refuses a column that cannot hold its field and a missing required column', async () => {
    const path = join(dir.path, 'small.parquet');
    await writeTransactions(path, transactionRows(1, 1, 2));
    const wrongType: IcebergSchema = { ...schema, fields: schema.fields.map((f) => (f.name === 'transaction_hash' ? { ...f, type: 'long' } : f)) };
    await expect(dataFileFromParquet(path, path, {}, wrongType)).rejects.toThrow(/column transaction_hash is BYTE_ARRAY, which cannot hold Iceberg long field transaction_hash/);
    const extra: IcebergSchema = { ...schema, fields: [...schema.fields, { id: 99, name: 'missing', required: true, type: 'int' }] };
    await expect(dataFileFromParquet(path, path, {}, extra)).rejects.toThrow(/no column for required field missing \(id 99\)/);
    const optional: IcebergSchema = { ...schema, fields: [...schema.fields, { id: 99, name: 'missing', required: false, type: 'int' }] };
    expect((await dataFileFromParquet(path, path, {}, optional)).valueCounts.has(99)).toBe(false);
    await expect(dataFileFromParquet(join(dir.path, 'nope.parquet'), 'x', {}, schema)).rejects.toThrow(/ENOENT/);
  });
});

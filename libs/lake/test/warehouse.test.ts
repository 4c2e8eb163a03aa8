import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Field, Int64, RecordBatch, Schema, makeData, Struct } from 'apache-arrow';
import { tempDir } from '@chainlake/testkit';
import { LocalWarehouse, parquetRowCount, writeParquet } from '../src/index.js';

let dir: { path: string; remove: () => Promise<void> };
let warehouse: LocalWarehouse;
beforeEach(async () => {
  dir = await tempDir('lake-warehouse');
  warehouse = new LocalWarehouse(dir.path);
});
afterEach(async () => {
  await dir.remove();
});

const schema = new Schema([new Field('block_number', new Int64(), false)]);
function batch(from: number, rows: number): RecordBatch {
  const values = BigInt64Array.from({ length: rows }, (_, i) => BigInt(from + i));
  const column = makeData({ type: new Int64(), length: rows, data: values });
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: rows, nullCount: 0, children: [column] }));
}

describe('LocalWarehouse paths', () => {
  it('lays out tables and data files under the root', () => {
    expect(warehouse.tableDir('ethereum', 'blocks')).toBe(join(dir.path, 'ethereum', 'blocks'));
    expect(warehouse.dataPath('ethereum', 'blocks', 'block_range=0-9999', 'blocks_0_9999_0-abc.parquet')).toBe(
      join(dir.path, 'ethereum', 'blocks', 'data', 'block_range=0-9999', 'blocks_0_9999_0-abc.parquet'),
    );
  });

  it.each([
    ['..', 'blocks'],
    ['ethereum', '../../etc'],
    ['ethereum/x', 'blocks'],
    ['', 'blocks'],
    ['Ethereum', 'blocks'],
    ['ethereum', '_staging'],
  ])('rejects namespace %j / table %j', (namespace, table) => {
    expect(() => warehouse.tableDir(namespace, table)).toThrow(/invalid (namespace|table) name/);
  });

  it('rejects partition paths and file names that could escape the table', () => {
    expect(() => warehouse.dataPath('eth', 'blocks', '../x=1', 'f.parquet')).toThrow(/invalid partition path/);
    expect(() => warehouse.dataPath('eth', 'blocks', 'block_range=0-9/..', 'f.parquet')).toThrow(/invalid partition path/);
    expect(() => warehouse.dataPath('eth', 'blocks', 'x=..', 'f.parquet')).toThrow(/invalid partition path/);
    expect(() => warehouse.dataPath('eth', 'blocks', 'block_range=0-9', '../f.parquet')).toThrow(/invalid file name/);
    expect(() => warehouse.dataPath('eth', 'blocks', 'block_range=0-9', 'a/b.parquet')).toThrow(/invalid file name/);
  });
});

describe('staging and publish', () => {
  it('never shows a partial file under data/: it appears whole on publish, and staging is left empty', async () => {
    const finalPath = warehouse.dataPath('eth', 'blocks', 'block_range=0-99999', 'blocks_0_99999_0-w1.parquet');
    const staged = await warehouse.stagingPath('blocks_0_99999_0-w1.parquet');
    expect(staged.startsWith(join(dir.path, '_staging'))).toBe(true);

    const seenWhileWriting: string[][] = [];
    async function* slowBatches() {
      for (let i = 0; i < 5; i++) {
        seenWhileWriting.push(await warehouse.listDataFiles('eth', 'blocks'));
        yield batch(i * 20_000, 20_000);
      }
    }
    const written = await writeParquet(staged, schema, slowBatches());
    seenWhileWriting.push(await warehouse.listDataFiles('eth', 'blocks'));
    expect(seenWhileWriting.every((files) => files.length === 0)).toBe(true);

    await warehouse.publish(staged, finalPath);
    expect(await warehouse.listDataFiles('eth', 'blocks')).toEqual(['data/block_range=0-99999/blocks_0_99999_0-w1.parquet']);
    expect((await stat(finalPath)).size).toBe(written.bytes);
    expect(await parquetRowCount(finalPath)).toBe(100_000);
    expect(await readdir(join(dir.path, '_staging'))).toEqual([]);
  });

  it('gives each staging path a unique name', async () => {
    const a = await warehouse.stagingPath('x.parquet');
    const b = await warehouse.stagingPath('x.parquet');
    expect(a).not.toBe(b);
  });

  it('refuses to publish from outside staging or to outside the warehouse', async () => {
    const outside = join(dir.path, 'elsewhere.parquet');
    await writeFile(outside, 'x');
    await expect(warehouse.publish(outside, warehouse.dataPath('eth', 't', 'date=2024-01-01', 'f.parquet'))).rejects.toThrow(/not in/);
    const staged = await warehouse.stagingPath('f.parquet');
    await writeFile(staged, 'x');
    await expect(warehouse.publish(staged, '/tmp/escaped.parquet')).rejects.toThrow(/not inside the warehouse/);
  });

  it('clears leftovers from staging and counts them', async () => {
    expect(await warehouse.clearStaging()).toBe(0);
    await writeFile(await warehouse.stagingPath('a.parquet'), 'partial');
    await writeFile(await warehouse.stagingPath('b.parquet'), 'partial');
    expect(await warehouse.clearStaging()).toBe(2);
    expect(await readdir(join(dir.path, '_staging'))).toEqual([]);
  });

  it('lists only Parquet files, in order, across partitions', async () => {
    const tableDir = warehouse.tableDir('eth', 'logs');
    await mkdir(join(tableDir, 'data', 'block_range=10-19'), { recursive: true });
    await mkdir(join(tableDir, 'data', 'block_range=0-9'), { recursive: true });
    await writeFile(join(tableDir, 'data', 'block_range=10-19', 'b.parquet'), '');
    await writeFile(join(tableDir, 'data', 'block_range=0-9', 'a.parquet'), '');
    await writeFile(join(tableDir, 'data', 'block_range=0-9', 'notes.txt'), '');
    expect(await warehouse.listDataFiles('eth', 'logs')).toEqual(['data/block_range=0-9/a.parquet', 'data/block_range=10-19/b.parquet']);
    expect(await warehouse.listDataFiles('eth', 'missing')).toEqual([]);
  });
});

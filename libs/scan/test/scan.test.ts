import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { RecordBatch, Table } from 'apache-arrow';
import { decode } from '@chainlake/chain-evm';
import { SyntheticChain, syntheticOptionsFromEnv } from '@chainlake/chain-synthetic';
import { writeParquet } from '@chainlake/lake';
import { tempDir } from '@chainlake/testkit';
import { scanTable, ScanRequestError, type ScanFile, type ScanOptions } from '../src/index.js';

const ROW_GROUP_ROWS = 1_000;
const RANGES = [
  [0, 99],
  [100, 199],
  [200, 299],
] as const;

interface Row {
  block_number: bigint;
  transaction_hash: string;
  value: string;
  success: boolean;
}

let dir: { path: string; remove: () => Promise<void> };
let tables: Table[];
let files: ScanFile[];
/** Every row of every file, in file order. */
let rows: Row[];
/** Per file, the [min, max] block of each of its row groups. */
let groupRanges: Array<Array<[bigint, bigint]>>;

function rowsOfTable(table: Table): Row[] {
  const blocks = table.getChild('block_number')!.toArray() as BigInt64Array;
  const hashes = table.getChild('transaction_hash')!;
  const values = table.getChild('value')!;
  const success = table.getChild('success')!;
  return Array.from(blocks, (block, i) => ({ block_number: block, transaction_hash: hashes.get(i), value: values.get(i), success: success.get(i) }));
}

async function collect(options: Omit<ScanOptions, 'schema'>) {
  const scan = scanTable({ schema: tables[0].schema, ...options });
  const batches: RecordBatch[] = [];
  for await (const batch of scan.batches) batches.push(batch);
  const out = batches.flatMap((batch) =>
    Array.from({ length: batch.numRows }, (_, i) => Object.fromEntries(batch.schema.fields.map((f, c) => [f.name, batch.getChildAt(c)!.get(i)]))),
  );
  return { scan, batches, rows: out };
}

/** How many row groups hold a block in [low, high], and how many do not. */
function groupsOverlapping(low: bigint, high: bigint): { scanned: number; pruned: number } {
  const all = groupRanges.flat();
  const scanned = all.filter(([min, max]) => max >= low && min <= high).length;
  return { scanned, pruned: all.length - scanned };
}

beforeAll(async () => {
  dir = await tempDir('scan-test');
  const chain = new SyntheticChain(syntheticOptionsFromEnv({}));
  tables = RANGES.map(([from, to]) => decode(chain.rawSegment(from, to), 1337).transactions);
  files = [];
  for (const [i, table] of tables.entries()) {
    const path = join(dir.path, `transactions_${RANGES[i][0]}_${RANGES[i][1]}.parquet`);
    await writeParquet(path, table.schema, table.batches, { rowGroupRows: ROW_GROUP_ROWS });
    files.push({ path, recordCount: table.numRows });
  }
  rows = tables.flatMap(rowsOfTable);
  groupRanges = tables.map((table) => {
    const blocks = rowsOfTable(table).map((row) => row.block_number);
    const ranges: Array<[bigint, bigint]> = [];
    for (let start = 0; start < blocks.length; start += ROW_GROUP_ROWS) {
      const group = blocks.slice(start, start + ROW_GROUP_ROWS);
      ranges.push([group[0], group.at(-1)!]);
    }
    return ranges;
  });
  expect(groupRanges.flat().length).toBeGreaterThan(20);
});

afterAll(async () => {
  await dir?.remove();
});

describe('scanTable over Parquet files', () => {
  it('returns exactly the rows a brute-force filter selects, projected in the requested order', async () => {
    const threshold = 10n ** 17n;
    const { scan, rows: got } = await collect({
      files,
      columns: ['value', 'block_number', 'transaction_hash'],
      where: { block_number: { between: [130, 139] }, value: { gt: threshold.toString() } },
    });
    const expected = rows
      .filter((row) => row.block_number >= 130n && row.block_number <= 139n && BigInt(row.value) > threshold)
      .map((row) => ({ value: row.value, block_number: row.block_number, transaction_hash: row.transaction_hash }));
    expect(expected.length).toBeGreaterThan(10);
    expect(got).toEqual(expected);
    expect(scan.schema.fields.map((f) => f.name)).toEqual(['value', 'block_number', 'transaction_hash']);
  });

  it('appends extra batches after the files, filtered, projected and limited the same way', async () => {
    const extra = tables[2].batches;
    const where = { block_number: { gte: 190 } };
    const { rows: got } = await collect({ files: files.slice(0, 2), extraBatches: (async function* () { yield* extra; })(), columns: ['block_number', 'value'], where });
    const fromFiles = rows.filter((r) => r.block_number >= 190n && r.block_number < 200n);
    const fromExtra = rowsOfTable(tables[2]).filter((r) => r.block_number >= 190n);
    expect(got).toEqual([...fromFiles, ...fromExtra].map((r) => ({ block_number: r.block_number, value: r.value })));
    const limited = await collect({ files: files.slice(0, 2), extraBatches: (async function* () { yield* extra; })(), where, limit: fromFiles.length + 3 });
    expect(limited.rows.length).toBe(fromFiles.length + 3);
  });

  it('skips the row groups and files whose statistics rule the filter out', async () => {
    const { scan, rows: got } = await collect({ files, columns: ['block_number'], where: { block_number: { between: [130, 139] } } });
    expect(got.length).toBe(rows.filter((row) => row.block_number >= 130n && row.block_number <= 139n).length);
    const expected = groupsOverlapping(130n, 139n);
    expect(scan.stats).toMatchObject({
      filesScanned: 1,
      filesPruned: 2,
      rowGroupsScanned: expected.scanned,
      rowGroupsPruned: expected.pruned,
      rowsReturned: got.length,
    });
    expect(expected.scanned).toBeLessThanOrEqual(3);
    expect(scan.stats.rowsRead).toBeLessThanOrEqual(expected.scanned * ROW_GROUP_ROWS);
  });

  it('prunes files by their bounds without opening them', async () => {
    const bounded: ScanFile[] = files.map((file, i) => ({
      ...file,
      // The pruned files do not exist: opening them would fail the scan.
      path: i === 1 ? pathToFileURL(file.path).href : join(dir.path, 'missing.parquet'),
      columnBounds: new Map([['block_number', { min: BigInt(RANGES[i][0]), max: BigInt(RANGES[i][1]) }]]),
    }));
    const { scan, rows: got } = await collect({ files: bounded, columns: ['block_number'], where: { block_number: { gte: 150, lt: 160 } } });
    expect(got.length).toBe(rows.filter((row) => row.block_number >= 150n && row.block_number < 160n).length);
    expect(scan.stats.filesPruned).toBe(2);
    expect(scan.stats.filesScanned).toBe(1);
    expect(scan.stats.rowGroupsScanned).toBe(groupsOverlapping(150n, 159n).scanned);
  });

  it('stops reading once the limit is reached, taking no further file from the list', async () => {
    let taken = 0;
    async function* listing(): AsyncGenerator<ScanFile> {
      for (const file of files) {
        taken++;
        yield file;
      }
    }
    const { scan, rows: got } = await collect({ files: listing(), columns: ['transaction_hash'], limit: 1_500 });
    expect(got.map((row) => row.transaction_hash)).toEqual(rows.slice(0, 1_500).map((row) => row.transaction_hash));
    expect(taken).toBe(1);
    expect(scan.stats).toMatchObject({ filesScanned: 1, rowGroupsScanned: 2, rowsReturned: 1_500 });
    expect(scan.stats.rowsRead).toBeLessThanOrEqual(2 * ROW_GROUP_ROWS);

    const filtered = await collect({ files, columns: ['block_number'], where: { success: { eq: false } }, limit: 25 });
    expect(filtered.rows.map((row) => row.block_number)).toEqual(rows.filter((row) => !row.success).slice(0, 25).map((row) => row.block_number));

    const none = await collect({ files: listing(), limit: 0 });
    expect(none.rows).toEqual([]);
    expect(none.scan.stats.filesScanned).toBe(0);
  });

  it('streams in batches no larger than a row group or batchRows', async () => {
    const { batches, rows: got } = await collect({ files, columns: ['block_number', 'value'], batchRows: 300 });
    expect(got.length).toBe(rows.length);
    expect(Math.max(...batches.map((b) => b.numRows))).toBeLessThanOrEqual(300);
    expect(batches.length).toBeGreaterThanOrEqual(Math.ceil(rows.length / 300));
  });

  it('refuses a bad request before reading anything', () => {
    const listing = {
      [Symbol.asyncIterator]() {
        throw new Error('the file list must not be read');
      },
    };
    expect(() => scanTable({ schema: tables[0].schema, files: listing, columns: ['nope'] })).toThrow(ScanRequestError);
    expect(() => scanTable({ schema: tables[0].schema, files: listing, where: { block_number: { in: [] } } })).toThrow('the list is empty');
  });

  it('fails with a message naming the file when it lacks a column or cannot be read', async () => {
    const logs = decode(new SyntheticChain(syntheticOptionsFromEnv({})).rawSegment(0, 9), 1337).logs;
    const path = join(dir.path, 'logs.parquet');
    await writeParquet(path, logs.schema, logs.batches);
    await expect(collect({ files: [{ path }], columns: ['value'] })).rejects.toThrow(`Parquet file ${path} has no column "value"`);
    const missing = join(dir.path, 'nowhere.parquet');
    await expect(collect({ files: [{ path: missing }] })).rejects.toThrow(missing);
    await expect(collect({ files: [{ path: 's3://bucket/file.parquet' }] })).rejects.toThrow('only local files are supported');
  });

  it('stops with the abort reason when its signal is aborted', async () => {
    const controller = new AbortController();
    const scan = scanTable({ schema: tables[0].schema, files, columns: ['block_number'], batchRows: 100, signal: controller.signal });
    let seen = 0;
    const run = (async () => {
      for await (const _batch of scan.batches) {
        seen++;
        if (seen === 2) controller.abort(new Error('client went away'));
      }
    })();
    await expect(run).rejects.toThrow('client went away');
    expect(seen).toBe(2);
  });
});

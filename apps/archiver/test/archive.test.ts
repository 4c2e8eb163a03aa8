import { readdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tableFromArrays, type Table } from 'apache-arrow';
import { LocalWarehouse, ManifestStore, readParquet } from '@chainlake/lake';
import { parsePartitionScheme } from '@chainlake/partitioning';
import { tempDir } from '@chainlake/testkit';
import { decode } from '@chainlake/chain-evm';
import { SyntheticChain, syntheticOptionsFromEnv } from '@chainlake/chain-synthetic';
import { datePartition } from '@chainlake/partitioning';
import { archiveSegments, reconcileTable, blockTimestamps, rowsInBlockRange, type ArchiveTarget, type SegmentRows } from '../src/archive.js';

const DAY_US = 86_400_000_000n;

/** Two rows per block, one timestamp per block; block b falls on day floor(b / 10). */
function segment(from: number, to: number): SegmentRows {
  const blocks: bigint[] = [];
  const index: number[] = [];
  const times = new Map<number, bigint>();
  for (let b = from; b <= to; b++) {
    blocks.push(BigInt(b), BigInt(b));
    index.push(0, 1);
    times.set(b, BigInt(Math.floor(b / 10)) * DAY_US);
  }
  const table: Table = tableFromArrays({ block_number: BigInt64Array.from(blocks), transaction_index: Int32Array.from(index) });
  return { from, to, table, blockTimestamps: times };
}

async function lakeRows(target: ArchiveTarget): Promise<string[]> {
  const manifest = await target.manifests.read(target.namespace, target.table);
  const rows: string[] = [];
  for (const f of manifest.files) {
    for await (const batch of readParquet(join(target.warehouse.tableDir(target.namespace, target.table), f.path))) {
      for (let i = 0; i < batch.numRows; i++) rows.push(`${batch.getChild('block_number')!.get(i)}:${batch.getChild('transaction_index')!.get(i)}`);
    }
  }
  return rows.sort();
}

describe('archiveSegments', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let target: ArchiveTarget;

  beforeEach(async () => {
    dir = await tempDir('archive');
    const warehouse = new LocalWarehouse(dir.path);
    target = { warehouse, manifests: new ManifestStore(warehouse), namespace: 'synthetic', table: 'transactions', scheme: parsePartitionScheme('block_range:100'), parquet: {}, maxRowsPerFile: 1_000_000 };
  });
  afterEach(() => dir.remove());

  it('writes one file per contiguous run per partition', async () => {
    const files = await archiveSegments(target, [segment(90, 119), segment(120, 149), segment(300, 309)]);
    expect(files.map((f) => [f.partition, f.start, f.end, f.rows])).toEqual([
      ['block_range=0-99', 90, 99, 20],
      ['block_range=100-199', 100, 149, 100],
      ['block_range=300-399', 300, 309, 20],
    ]);
    expect((await lakeRows(target)).length).toBe(140);
  });

  it('never writes a row twice for redelivered or overlapping segments', async () => {
    await archiveSegments(target, [segment(0, 49)]);
    await archiveSegments(target, [segment(0, 49), segment(40, 59)]);
    await archiveSegments(target, [segment(30, 39), segment(55, 64), segment(55, 64)]);
    const rows = await lakeRows(target);
    expect(rows.length).toBe(130);
    expect(new Set(rows).size).toBe(130);
    const manifest = await target.manifests.read('synthetic', 'transactions');
    expect(manifest.files.map((f) => [f.start, f.end])).toEqual([[0, 49], [50, 59], [60, 64]]);
  });

  it('records a published file a crash left out of the manifest instead of writing it again', async () => {
    await archiveSegments(target, [segment(0, 9)]);
    const scratch = new LocalWarehouse(join(dir.path, 'scratch'));
    const other: ArchiveTarget = { ...target, warehouse: scratch, manifests: new ManifestStore(scratch) };
    const [orphan] = await archiveSegments(other, [segment(10, 19)]);
    await rename(join(scratch.tableDir('synthetic', 'transactions'), orphan.path), join(target.warehouse.tableDir('synthetic', 'transactions'), orphan.path));
    await archiveSegments(target, [segment(10, 29)]);
    const rows = await lakeRows(target);
    expect(rows.length).toBe(60);
    expect(new Set(rows).size).toBe(60);
    expect(await reconcileTable(target)).toEqual({ adopted: 0, committed: 0 });
  });

  it('places rows in date partitions by block timestamp', async () => {
    target.scheme = parsePartitionScheme('date');
    const files = await archiveSegments(target, [segment(5, 24)]);
    expect(files.map((f) => [f.partition, f.start, f.end])).toEqual([
      ['date=1970-01-01', 5, 9],
      ['date=1970-01-02', 10, 19],
      ['date=1970-01-03', 20, 24],
    ]);
    const dirs = await readdir(join(target.warehouse.tableDir('synthetic', 'transactions'), 'data'));
    expect(dirs.sort()).toEqual(['date=1970-01-01', 'date=1970-01-02', 'date=1970-01-03']);
  });

  it('cuts a run into numbered files of at most maxRowsPerFile rows, between blocks, covering it exactly', async () => {
    target.maxRowsPerFile = 25;
    const files = await archiveSegments(target, [segment(0, 29), segment(30, 49)]);
    expect(files.map((f) => [f.start, f.end, f.rows, f.path.match(/_(\d+)-[a-z0-9]+\.parquet$/)![1]])).toEqual([
      [0, 11, 24, '0'],
      [12, 23, 24, '1'],
      [24, 35, 24, '2'],
      [36, 47, 24, '3'],
      [48, 49, 4, '4'],
    ]);
    const rows = await lakeRows(target);
    expect(rows.length).toBe(100);
    expect(new Set(rows).size).toBe(100);
  });

  it('slices a sorted table by block range without copying', () => {
    const { table } = segment(0, 9);
    expect(rowsInBlockRange(table, 3, 5).numRows).toBe(6);
    expect(rowsInBlockRange(table, 10, 20).numRows).toBe(0);
  });
});

describe('blockTimestamps', () => {
  it('reads block timestamps in microseconds, as date partitions expect', () => {
    const chain = new SyntheticChain(syntheticOptionsFromEnv({}));
    const { blocks } = decode(chain.rawSegment(0, 2), 1337);
    const times = blockTimestamps(blocks);
    expect([...times.keys()]).toEqual([0, 1, 2]);
    expect(datePartition(times.get(0)!)).toBe('date=2024-01-01');
    expect(times.get(1)! - times.get(0)!).toBe(1_000_000n);
  });
});

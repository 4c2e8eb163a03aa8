import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { makeData, RecordBatch, Schema, Field, Int64, Int32, Struct } from 'apache-arrow';
import { BlockFileCutter, type CutFile } from '../src/block-files.js';
import { trimToCold } from '../src/hot-to-cold.js';
import type { LiveFile } from '../src/lake-table.js';
import { planMerge } from '../src/merge.js';

const schema = new Schema([new Field('block_number', new Int64(), false), new Field('row', new Int32(), false)]);

/** One batch of rows with these block numbers (and their position as `row`). */
function batch(blocks: number[], firstRow: number): RecordBatch {
  const children = [
    makeData({ type: new Int64(), length: blocks.length, data: BigInt64Array.from(blocks, BigInt) }),
    makeData({ type: new Int32(), length: blocks.length, data: Int32Array.from(blocks, (_, i) => firstRow + i) }),
  ];
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: blocks.length, children }));
}

async function* stream(batches: RecordBatch[]): AsyncGenerator<RecordBatch> {
  yield* batches;
}

async function cut(blocks: number[], batchSizes: number[], maxRows: number, width: number): Promise<Array<CutFile & { rows: number; rowIds: number[] }>> {
  const batches: RecordBatch[] = [];
  let at = 0;
  for (let i = 0; at < blocks.length; i++) {
    const size = batchSizes[i % batchSizes.length];
    // Sliced out of a larger batch, as zero-copy slices arrive.
    const wide = batch([0, ...blocks.slice(at, at + size), 0], at - 1);
    batches.push(wide.slice(1, 1 + Math.min(size, blocks.length - at)));
    at += size;
  }
  const cutter = new BlockFileCutter(stream(batches), {
    blockColumn: 'block_number', maxRows, partitionEnd: (b) => b - (b % width) + width - 1, signal: new AbortController().signal,
  });
  const files: Array<CutFile & { rowIds: number[] }> = [];
  while ((await cutter.nextBlock()) !== undefined) {
    const file: CutFile = { first: 0, last: 0, rows: 0 };
    const rowIds: number[] = [];
    for await (const b of cutter.nextFile(file)) for (let i = 0; i < b.numRows; i++) rowIds.push(Number(b.getChild('row')!.get(i)));
    files.push({ ...file, rowIds });
  }
  return files;
}

describe('BlockFileCutter', () => {
  it('cuts between blocks, at partition ends and at maxRows, whatever the batch boundaries', async () => {
    const blocks = [0, 0, 1, 1, 1, 2, 5, 5, 5, 5, 5, 5, 9, 10, 10, 11];
    const files = await cut(blocks, [3], 4, 10);
    expect(files.map(({ first, last, rows }) => [first, last, rows])).toEqual([
      [0, 0, 2], // block 1 would make 5 rows
      [1, 2, 4], // block 5 alone has 6 rows
      [5, 5, 6], // larger than maxRows: a block is never split
      [9, 9, 1], // block 10 is in the next partition
      [10, 11, 3],
    ]);
    expect(files.flatMap((f) => f.rowIds)).toEqual(blocks.map((_, i) => i));
  });

  it('keeps every row once, in order, each file within one partition, blocks never split (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 40 }),
        fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 8 }),
        async (rowsPerBlock, batchSizes, maxRows, width) => {
          const blocks = rowsPerBlock.flatMap((n, b) => Array<number>(n).fill(b * 2));
          const files = await cut(blocks, batchSizes, maxRows, width);
          expect(files.flatMap((f) => f.rowIds)).toEqual(blocks.map((_, i) => i));
          for (const [i, f] of files.entries()) {
            expect(Math.floor(f.first / width)).toBe(Math.floor(f.last / width));
            expect(f.rows <= maxRows || f.first === f.last).toBe(true);
            if (i > 0) expect(f.first).toBeGreaterThan(files[i - 1].last);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

const file = (start: number, end: number, bytes = 100, partitionPath = 'block_range=0-99'): LiveFile =>
  ({ start, end, partitionPath, rel: `data/${partitionPath}/t_${start}_${end}_0-x.parquet`, path: '', dataFile: { fileSizeInBytes: bytes, recordCount: 1 } }) as unknown as LiveFile;

describe('trimToCold', () => {
  it('leaves out the ends that files reaching outside the range hold', () => {
    expect(trimToCold([file(0, 9), file(10, 19), file(20, 29)], 5, 25)).toEqual({ from: 10, to: 19 });
    expect(trimToCold([file(10, 19)], 0, 29)).toEqual({ from: 0, to: 29 });
    expect(trimToCold([file(0, 30)], 5, 25)).toBeNull();
    expect(trimToCold([], 5, 25)).toEqual({ from: 5, to: 25 });
  });
});

describe('planMerge', () => {
  const options = { minFileCount: 3, maxFileSize: 1_000, targetFileSize: 300 };

  it('groups runs of adjacent small files up to the target size; a large file or a gap ends a run', () => {
    const files = [file(0, 9), file(10, 19), file(20, 29), file(30, 39), file(40, 49, 5_000), file(50, 59), file(60, 69), file(75, 79), file(80, 89)];
    expect(planMerge(files, options).map((m) => m.groups.map((g) => g.map((f) => `${f.start}-${f.end}`)))).toEqual([
      [['0-9', '10-19', '20-29'], ['50-59', '60-69'], ['75-79', '80-89']],
    ]);
  });

  it('leaves partitions with fewer than minFileCount small files alone', () => {
    expect(planMerge([file(0, 9), file(10, 19), file(100, 109, 100, 'block_range=100-199')], options)).toEqual([]);
  });
});

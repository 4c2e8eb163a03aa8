import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { decode } from '@chainlake/chain-evm';
import { SyntheticChain, syntheticOptionsFromEnv } from '@chainlake/chain-synthetic';
import { dataFileFromParquet, type DataFile } from '@chainlake/iceberg';
import { writeParquet } from '@chainlake/lake';
import { arrowSchema, icebergSchema, transactions } from '@chainlake/schema';
import { tempDir } from '@chainlake/testkit';
import { scanFileFromDataFile, scanFilesFromDataFiles, scanTable } from '../src/index.js';

const schema = arrowSchema(transactions);
let dir: { path: string; remove: () => Promise<void> };
let dataFiles: DataFile[];
let blockRanges: Array<[bigint, bigint]>;

beforeAll(async () => {
  dir = await tempDir('scan-iceberg');
  const chain = new SyntheticChain(syntheticOptionsFromEnv({}));
  dataFiles = [];
  blockRanges = [];
  for (const [from, to] of [
    [0, 49],
    [50, 99],
  ]) {
    const table = decode(chain.rawSegment(from, to), 1337).transactions;
    const path = join(dir.path, `transactions_${from}_${to}.parquet`);
    await writeParquet(path, table.schema, table.batches);
    dataFiles.push(await dataFileFromParquet(path, pathToFileURL(path).href, {}, icebergSchema(transactions)));
    const blocks = table.getChild('block_number')!.toArray() as BigInt64Array;
    blockRanges.push([blocks[0], blocks[blocks.length - 1]]);
  }
});

afterAll(async () => {
  await dir?.remove();
});

describe('scan files from Iceberg data files', () => {
  it('carries the path, record count and bounds matched by field id', () => {
    const file = scanFileFromDataFile(dataFiles[1], schema);
    expect(file.path).toBe(dataFiles[1].filePath);
    expect(file.recordCount).toBe(dataFiles[1].recordCount);
    expect(file.columnBounds!.get('block_number')).toEqual({ min: blockRanges[1][0], max: blockRanges[1][1], nullCount: 0 });
    const to = file.columnBounds!.get('to_address')!;
    expect(to.min).toBeInstanceOf(Uint8Array);
    expect(Number(to.nullCount)).toBeGreaterThan(0);
    expect(file.columnBounds!.get('success')).toMatchObject({ min: false, max: true });
  });

  it('lets a scan prune by those bounds before opening a file', async () => {
    const scan = scanTable({
      schema,
      files: scanFilesFromDataFiles(dataFiles, schema),
      columns: ['block_number'],
      where: { block_number: { between: [60, 70] } },
    });
    let rows = 0;
    for await (const batch of scan.batches) rows += batch.numRows;
    expect(rows).toBeGreaterThan(0);
    expect(scan.stats).toMatchObject({ filesPruned: 1, filesScanned: 1, rowGroupsPruned: 0 });
  });
});

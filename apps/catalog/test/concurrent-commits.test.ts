import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendFiles, LocalFileIO, planFiles, snapshotAncestry, type DataFile } from '@chainlake/iceberg';
import { blockRangeSpec, blocksSchema, startCatalog, type TestCatalog } from './helpers.js';

const COMMITS_PER_WRITER = 100;

/** A data file as the archiver would register it: one block range, in the table's block_range partition. */
function dataFile(location: string, writer: number, i: number): DataFile {
  const from = (writer * COMMITS_PER_WRITER + i) * 100;
  return {
    content: 0,
    filePath: `${location}/data/block_range=${from - (from % 10_000)}/blocks_${from}_${from + 99}_0-w${writer}.parquet`,
    fileFormat: 'PARQUET',
    partition: { block_range: from - (from % 10_000) },
    recordCount: 100,
    fileSizeInBytes: 4_096,
    columnSizes: new Map(),
    valueCounts: new Map(),
    nullValueCounts: new Map(),
    lowerBounds: new Map(),
    upperBounds: new Map(),
  };
}

describe('concurrent commits', () => {
  let catalog: TestCatalog;

  beforeAll(async () => {
    catalog = await startCatalog('concurrent');
    await catalog.client.createNamespace('eth');
    await catalog.client.createTable('eth', 'transactions', { schema: blocksSchema, spec: blockRangeSpec });
  });
  afterAll(async () => {
    await catalog?.stop();
  });

  it(`two writers committing ${COMMITS_PER_WRITER} appends each at once lose no commit and duplicate no file`, async () => {
    const { client } = catalog;
    const location = (await client.loadTable('eth', 'transactions')).metadata.location;
    const io = new LocalFileIO();
    const expectedFiles: string[] = [];
    const writer = async (w: number): Promise<number> => {
      let retries = 0;
      for (let i = 0; i < COMMITS_PER_WRITER; i++) {
        const file = dataFile(location, w, i);
        expectedFiles.push(file.filePath);
        const { attempts } = await client.commitWithRetry('eth', 'transactions', (table, attempt) => appendFiles(table.metadata, io, [file], { attempt }), {
          maxAttempts: 1_000,
          onConflict: (refused) => Promise.all(refused.writtenFiles.map((f) => io.delete(f))).then(() => undefined),
        });
        retries += attempts - 1;
      }
      return retries;
    };
    const started = Date.now();
    const retries = await Promise.all([writer(1), writer(2)]);
    const elapsedMs = Date.now() - started;
    console.log(`concurrent commits: ${2 * COMMITS_PER_WRITER} in ${elapsedMs} ms, ${retries[0]! + retries[1]!} retries after 409`);
    expect(retries[0]! + retries[1]!).toBeGreaterThan(0); // the writers really did collide

    const { metadata, metadataLocation } = await client.loadTable('eth', 'transactions');
    const chain = snapshotAncestry(metadata, metadata['current-snapshot-id']!).reverse();
    expect(chain).toHaveLength(2 * COMMITS_PER_WRITER);
    expect(metadata.snapshots).toHaveLength(2 * COMMITS_PER_WRITER);
    expect(chain.map((s) => s['sequence-number'])).toEqual(chain.map((_, i) => i + 1));
    const files: string[] = [];
    for await (const file of planFiles(metadata, io)) files.push(file.filePath);
    expect(new Set(files).size).toBe(files.length);
    expect(files.sort()).toEqual(expectedFiles.sort());
    expect(chain.at(-1)!.summary).toMatchObject({ 'total-data-files': String(2 * COMMITS_PER_WRITER), 'total-records': String(200 * COMMITS_PER_WRITER) });

    const version = 1 + 2 * COMMITS_PER_WRITER;
    expect(metadataLocation).toMatch(new RegExp(`/metadata/v${version}\\.metadata\\.json$`));
    expect(metadata['metadata-log']).toHaveLength(100);
    const metadataDir = await readdir(join(catalog.warehouse, 'eth', 'transactions', 'metadata'));
    expect(metadataDir.filter((f) => f.endsWith('.metadata.json'))).toHaveLength(version);
    // Refused attempts cleaned up after themselves: one manifest and one manifest list per committed snapshot.
    expect(metadataDir.filter((f) => f.endsWith('.avro'))).toHaveLength(2 * 2 * COMMITS_PER_WRITER);
    const log = await catalog.pool.query<{ n: number; snapshots: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT snapshot_ids[1])::int AS snapshots FROM iceberg_commits WHERE kind = 'commit'`,
    );
    expect(log.rows[0]).toEqual({ n: 2 * COMMITS_PER_WRITER, snapshots: 2 * COMMITS_PER_WRITER });
  });

  it('shows the partitions and files of the current snapshot, read from its manifests', async () => {
    const get = async (path: string) => (await fetch(`${catalog.base}${path}`)).json();
    const { metadata } = await catalog.client.loadTable('eth', 'transactions');
    const partition = (from: number) => ({ partition: `block_range=${from}`, values: { block_range: from }, files: 100, rows: 10_000, bytes: 409_600 });
    expect(await get('/api/tables/eth/transactions/partitions')).toEqual({
      snapshotId: metadata['current-snapshot-id'],
      partitions: [partition(10_000), partition(20_000)],
    });
    type FilesPage = { files: { path: string }[]; more: boolean };
    const first = (await get('/api/tables/eth/transactions/files?limit=150')) as FilesPage;
    const rest = (await get('/api/tables/eth/transactions/files?limit=150&offset=150')) as FilesPage;
    expect([first.files.length, first.more, rest.files.length, rest.more]).toEqual([150, true, 50, false]);
    expect(new Set([...first.files, ...rest.files].map((f) => f.path)).size).toBe(200);
    expect(first.files[0]).toEqual({ path: expect.stringMatching(/\/data\/block_range=\d+\/blocks_\d+_\d+_0-w[12]\.parquet$/), partition: expect.any(String), rows: 100, bytes: 4096 });
    expect((await fetch(`${catalog.base}/api/tables/eth/transactions/files?limit=0`)).status).toBe(400);
    expect(await get('/api/tables')).toEqual({
      tables: [expect.objectContaining({ namespace: 'eth', name: 'transactions', rows: 20_000, files: 200, bytes: 819_200 })],
    });
  });
});

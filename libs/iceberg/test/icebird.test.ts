import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { icebergRead } from 'icebird';
import { partitionPath } from '@chainlake/partitioning';
import { icebergSchema, transactions } from '@chainlake/schema';
import { tempDir } from '@chainlake/testkit';
import {
  LocalFileIO,
  appendFiles,
  appendMetadataLog,
  applyUpdates,
  checkRequirements,
  dataFileFromParquet,
  findOrphanFiles,
  joinLocation,
  metadataFileName,
  newTableMetadata,
  partitionValues,
  planFiles,
  replaceFiles,
  writeMetadataFiles,
  type DataFile,
  type SnapshotCommit,
  type TableMetadata,
} from '../src/index.js';
import { rowsChecksum, serveDirectory, transactionRows, writeTransactions, type TransactionRow } from './helpers.js';

// Our writer, icebird (third party) as the reader. icebird fetches over HTTP, so the table's location
// is a loopback static file server's URL and our FileIO writes that URL space into its directory.
const PARTITION_WIDTH = 100;
const schema = icebergSchema(transactions);
const blockField = schema.fields.find((f) => f.name === 'block_number')!;

let dir: { path: string; remove: () => Promise<void> };
let served: Awaited<ReturnType<typeof serveDirectory>>;
let io: LocalFileIO;
let tableUrl: string;
let metadata: TableMetadata;
let version = 0;
const expected = new Map<string, TransactionRow[]>(); // file location → its rows

async function writeDataFile(name: string, rows: TransactionRow[]): Promise<DataFile> {
  const spec = metadata['partition-specs'][0]!;
  const partition = partitionValues(spec, schema, { block_number: rows[0]!.block_number });
  const location = joinLocation(tableUrl, 'data', partitionPath(spec, partition), `${name}.parquet`);
  const path = io.localPath(location);
  await writeTransactions(path, rows, 64);
  expected.set(location, rows);
  return dataFileFromParquet(path, location, partition, schema);
}

async function commit(change: SnapshotCommit): Promise<void> {
  const previous = joinLocation(tableUrl, 'metadata', metadataFileName(version));
  checkRequirements(metadata, change.requirements);
  metadata = appendMetadataLog(applyUpdates(metadata, change.updates), previous, metadata['last-updated-ms']);
  version++;
  await writeMetadataFiles(io.localPath(joinLocation(tableUrl, 'metadata')), version, metadata);
}

function live(locations: string[]): Record<string, unknown>[] {
  return locations.flatMap((l) => expected.get(l)!) as unknown as Record<string, unknown>[];
}

beforeAll(async () => {
  dir = await tempDir('iceberg-icebird');
  served = await serveDirectory(dir.path);
  io = new LocalFileIO({ mounts: { [`${served.url}/`]: `${dir.path}/` } });
  tableUrl = `${served.url}/eth/transactions`;
  metadata = newTableMetadata({
    location: tableUrl,
    schema,
    spec: { fields: [{ 'source-id': blockField.id, name: 'block_number_trunc', transform: `truncate[${PARTITION_WIDTH}]` }] },
  });
  version = 1;
  await writeMetadataFiles(io.localPath(joinLocation(tableUrl, 'metadata')), version, metadata);
});

afterAll(async () => {
  await served?.close();
  await dir?.remove();
});

describe('a table written by chainlake, read by icebird', () => {
  const files: Record<string, DataFile> = {};

  it('reads exactly the appended rows after each append', async () => {
    files.a = await writeDataFile('a', transactionRows(0, 49, 3));
    files.b = await writeDataFile('b', transactionRows(50, 99, 2));
    await commit(await appendFiles(metadata, io, [files.a, files.b]));
    files.c = await writeDataFile('c', transactionRows(100, 149, 4));
    await commit(await appendFiles(metadata, io, [files.c]));
    files.d = await writeDataFile('d', transactionRows(150, 220, 1));
    await commit(await appendFiles(metadata, io, [files.d]));
    expect(version).toBe(4);

    const rows = await icebergRead({ tableUrl });
    const want = live([files.a.filePath, files.b.filePath, files.c.filePath, files.d.filePath]);
    expect(rows.length).toBe(150 + 100 + 200 + 71);
    expect(rowsChecksum(rows)).toBe(rowsChecksum(want));
    expect(metadata.snapshots!.at(-1)!.summary).toMatchObject({ operation: 'append', 'total-records': '521', 'total-data-files': '4' });
  });

  it('reads the same rows after a replace merged two files into one', async () => {
    const merged = await writeDataFile('cd', [...expected.get(files.c!.filePath)!, ...expected.get(files.d!.filePath)!]);
    await commit(await replaceFiles(metadata, io, [files.c!, files.d!], [merged]));
    const rows = await icebergRead({ tableUrl });
    expect(rows.length).toBe(521);
    expect(rowsChecksum(rows)).toBe(rowsChecksum(live([files.a!.filePath, files.b!.filePath, merged.filePath])));
    const planned = [];
    for await (const f of planFiles(metadata, io)) planned.push(f.filePath);
    expect(planned.sort()).toEqual([files.a!.filePath, files.b!.filePath, merged.filePath].sort());
    expect(metadata.snapshots!.at(-1)!.summary).toMatchObject({ operation: 'replace', 'deleted-data-files': '2', 'total-records': '521', 'total-data-files': '3' });
  });

  it('refuses a second replace of files that are gone', async () => {
    await expect(replaceFiles(metadata, io, [files.c!], [files.a!])).rejects.toThrow(/not live in the current snapshot/);
  });

  it('travels back to an earlier metadata file', async () => {
    const rows = await icebergRead({ tableUrl, metadataFileName: 'v3.metadata.json' });
    expect(rows.length).toBe(450);
    expect(rowsChecksum(rows)).toBe(rowsChecksum(live([files.a!.filePath, files.b!.filePath, files.c!.filePath])));
    expect(metadata['metadata-log']!.map((e) => e['metadata-file'].split('/').pop())).toEqual([
      'v1.metadata.json',
      'v2.metadata.json',
      'v3.metadata.json',
      'v4.metadata.json',
    ]);
  });

  it('has no orphan: every file under the table location is referenced', async () => {
    const orphans = await findOrphanFiles(metadata, io, tableUrl, { olderThanMs: Date.now() + 60_000 });
    expect(orphans).toEqual([]);
    let files = 0;
    for await (const f of io.list(joinLocation(tableUrl, 'data'))) files += f.location.startsWith(`${tableUrl}/data/block_number_trunc=`) ? 1 : 0;
    expect(files).toBe(5);
  });
});

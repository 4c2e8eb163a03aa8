import { utimes, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '@chainlake/testkit';
import {
  CommitConflictError,
  EntryStatus,
  LocalFileIO,
  appendFiles,
  appendMetadataLog,
  applyUpdates,
  checkRequirements,
  decodeBound,
  deleteFiles,
  encodeBound,
  expireSnapshots,
  findOrphanFiles,
  joinLocation,
  metadataFileName,
  newTableMetadata,
  overwriteFiles,
  planFiles,
  readManifest,
  readManifestList,
  replaceFiles,
  snapshotAt,
  writeMetadataFiles,
  type DataFile,
  type IcebergSchema,
  type SnapshotCommit,
  type TableMetadata,
} from '../src/index.js';

const schema: IcebergSchema = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'block_number', required: true, type: 'long' },
    { id: 2, name: 'hash', required: true, type: 'string' },
  ],
};

let dir: { path: string; remove: () => Promise<void> };
const io = new LocalFileIO();
let location: string;

beforeAll(async () => {
  dir = await tempDir('iceberg-table');
});
afterAll(async () => {
  await dir?.remove();
});

/** A table on the local file system with its own commit loop (what the catalog does). */
class Table {
  version = 1;
  constructor(public metadata: TableMetadata) {}

  static async create(name: string): Promise<Table> {
    location = pathToFileURL(join(dir.path, name)).href;
    const metadata = newTableMetadata({
      location,
      schema,
      spec: { fields: [{ 'source-id': 1, name: 'block_number_trunc', transform: 'truncate[100]' }] },
    });
    await writeMetadataFiles(joinLocation(location, 'metadata'), 1, metadata);
    return new Table(metadata);
  }

  get metadataFile(): string {
    return joinLocation(this.metadata.location, 'metadata', metadataFileName(this.version));
  }

  async commit(change: Pick<SnapshotCommit, 'requirements' | 'updates'>, nowMs?: number): Promise<void> {
    checkRequirements(this.metadata, change.requirements);
    const next = appendMetadataLog(applyUpdates(this.metadata, change.updates, nowMs), this.metadataFile, this.metadata['last-updated-ms']);
    this.version++;
    await writeMetadataFiles(joinLocation(next.location, 'metadata'), this.version, next);
    this.metadata = next;
  }

  async files(snapshotId?: number): Promise<string[]> {
    const names: string[] = [];
    for await (const f of planFiles(this.metadata, io, { snapshotId })) names.push(f.filePath.split('/').pop()!);
    return names.sort();
  }
}

/** A data file of blocks [from, to] (the file itself is written too, so that orphan and expiry checks see it). */
async function dataFile(name: string, from: number, to: number): Promise<DataFile> {
  const filePath = joinLocation(location, 'data', `block_number_trunc=${from - (from % 100)}`, `${name}.parquet`);
  await io.write(filePath, new TextEncoder().encode(name));
  return {
    content: 0,
    filePath,
    fileFormat: 'PARQUET',
    partition: { block_number_trunc: from - (from % 100) },
    recordCount: to - from + 1,
    fileSizeInBytes: 1000 + from,
    columnSizes: new Map(),
    valueCounts: new Map([[1, to - from + 1]]),
    nullValueCounts: new Map([[1, 0]]),
    lowerBounds: new Map([[1, encodeBound('long', from)]]),
    upperBounds: new Map([[1, encodeBound('long', to)]]),
  };
}

describe('snapshots', () => {
  it('append carries manifests forward; replace, overwrite and delete rewrite only the manifests they touch', async () => {
    const table = await Table.create('ops');
    const [a, b, c] = [await dataFile('a', 0, 49), await dataFile('b', 50, 99), await dataFile('c', 100, 149)];
    await table.commit(await appendFiles(table.metadata, io, [a, b]));
    const first = table.metadata.snapshots![0]!;
    expect(first['sequence-number']).toBe(1);
    expect(first['parent-snapshot-id']).toBeUndefined();
    expect(first['manifest-list']).toMatch(new RegExp(`/metadata/snap-${first['snapshot-id']}-1-[0-9a-f-]{36}\\.avro$`));
    await table.commit(await appendFiles(table.metadata, io, [c]));
    const second = table.metadata.snapshots![1]!;
    expect(second['parent-snapshot-id']).toBe(first['snapshot-id']);
    const firstManifests = await readManifestList(io, first['manifest-list']);
    const secondManifests = await readManifestList(io, second['manifest-list']);
    expect(secondManifests.length).toBe(2);
    expect(secondManifests[1]).toEqual(firstManifests[0]); // carried, not rewritten
    expect(await table.files()).toEqual(['a.parquet', 'b.parquet', 'c.parquet']);

    // Replace a (first manifest) and c (second manifest) by ac: both manifests are rewritten.
    const ac = await dataFile('ac', 0, 149);
    await table.commit(await replaceFiles(table.metadata, io, [a, c.filePath], [ac]));
    const replace = table.metadata.snapshots![2]!;
    expect(replace['sequence-number']).toBe(3);
    expect(table.metadata['last-sequence-number']).toBe(3);
    expect(await table.files()).toEqual(['ac.parquet', 'b.parquet']);
    const replaceManifests = await readManifestList(io, replace['manifest-list']);
    expect(replaceManifests.map((m) => [m.addedFilesCount, m.existingFilesCount, m.deletedFilesCount])).toEqual([
      [1, 0, 0],
      [0, 0, 1],
      [0, 1, 1],
    ]);
    expect(replaceManifests.every((m) => m.addedSnapshotId === replace['snapshot-id'] && m.sequenceNumber === 3)).toBe(true);
    expect(replaceManifests[2]!.minSequenceNumber).toBe(1); // b keeps its data sequence number
    const rewritten = await readManifest(io, replaceManifests[2]!.manifestPath);
    expect(rewritten.entries.map((e) => [e.dataFile.filePath.split('/').pop(), e.status, e.snapshotId, e.sequenceNumber, e.fileSequenceNumber])).toEqual([
      ['a.parquet', EntryStatus.DELETED, replace['snapshot-id'], 1, 1],
      ['b.parquet', EntryStatus.EXISTING, first['snapshot-id'], 1, 1],
    ]);
    expect(replace.summary).toEqual({
      operation: 'replace',
      'added-data-files': '1',
      'deleted-data-files': '2',
      'added-records': '150',
      'deleted-records': '100',
      'added-files-size': '1000',
      'removed-files-size': '2100',
      'total-records': '200',
      'total-data-files': '2',
      'total-files-size': String(1050 + 1000),
      'total-delete-files': '0',
      'total-position-deletes': '0',
      'total-equality-deletes': '0',
    });

    // The manifest holding only a DELETED entry is dropped by the next commit.
    const d = await dataFile('d', 200, 210);
    await table.commit(await overwriteFiles(table.metadata, io, [b], [d], { summary: { 'chainlake.blocks': '200-210' } }));
    const overwrite = table.metadata.snapshots!.at(-1)!;
    expect(overwrite.summary).toMatchObject({ operation: 'overwrite', 'chainlake.blocks': '200-210', 'total-records': '161', 'total-data-files': '2' });
    expect((await readManifestList(io, overwrite['manifest-list'])).length).toBe(3);
    expect(await table.files()).toEqual(['ac.parquet', 'd.parquet']);

    await table.commit(await deleteFiles(table.metadata, io, [d]));
    expect(await table.files()).toEqual(['ac.parquet']);
    expect(table.metadata.snapshots!.at(-1)!.summary).toMatchObject({ operation: 'delete', 'total-records': '150', 'total-data-files': '1' });

    // Time travel by id and by time.
    expect(await table.files(first['snapshot-id'])).toEqual(['a.parquet', 'b.parquet']);
    expect(snapshotAt(table.metadata, second['timestamp-ms'])!['snapshot-id']).toBeGreaterThan(0);
    expect(snapshotAt(table.metadata, first['timestamp-ms'] - 1)).toBeUndefined();
  });

  it('prunes manifests by partition summaries and files by column bounds', async () => {
    const table = await Table.create('prune');
    await table.commit(await appendFiles(table.metadata, io, [await dataFile('p0', 0, 99)]));
    await table.commit(await appendFiles(table.metadata, io, [await dataFile('p1', 100, 149), await dataFile('p1b', 150, 199)]));
    const seenManifests: number[] = [];
    const wanted: string[] = [];
    for await (const file of planFiles(table.metadata, io, {
      keepManifest: (m) => {
        const upper = decodeBound('long', m.partitions[0]!.upperBound!) as bigint;
        seenManifests.push(Number(upper));
        return upper >= 100n;
      },
      keepFile: (f) => (decodeBound('long', f.lowerBounds.get(1)!) as bigint) >= 150n,
    })) {
      wanted.push(file.filePath.split('/').pop()!);
    }
    expect(seenManifests.sort()).toEqual([0, 100]);
    expect(wanted).toEqual(['p1b.parquet']);
  });

  it('refuses to remove files that are not live, cleaning up what it wrote', async () => {
    const table = await Table.create('missing');
    const a = await dataFile('a', 0, 9);
    await expect(deleteFiles(table.metadata, io, [a])).rejects.toThrow(/not live in the current snapshot \(none\)/);
    await table.commit(await appendFiles(table.metadata, io, [a]));
    const ghost = joinLocation(location, 'data', 'ghost.parquet');
    await expect(replaceFiles(table.metadata, io, [a, ghost], [await dataFile('b', 0, 9)])).rejects.toThrow(/1 file\(s\) to remove .*ghost\.parquet/);
    const metadataFiles: string[] = [];
    for await (const f of io.list(joinLocation(location, 'metadata'))) metadataFiles.push(f.location.split('/').pop()!);
    // One manifest and one list from the append, the metadata files; nothing from the failed replace.
    expect(metadataFiles.filter((n) => n.endsWith('.avro')).length).toBe(2);
    await expect(appendFiles(table.metadata, io, [{ ...a, partition: { wrong: 1 } }])).rejects.toThrow(/partition has fields \[wrong\]/);
    await expect(appendFiles(table.metadata, io, [])).rejects.toThrow(/at least one/);
  });

  it('two commits from the same base: the second conflicts and produces again', async () => {
    const table = await Table.create('race');
    const base = table.metadata;
    const one = await appendFiles(base, io, [await dataFile('one', 0, 9)]);
    const two = await appendFiles(base, io, [await dataFile('two', 10, 19)]);
    await table.commit(one);
    expect(() => checkRequirements(table.metadata, two.requirements)).toThrow(CommitConflictError);
    await Promise.all(two.writtenFiles.map((f) => io.delete(f)));
    await table.commit(await appendFiles(table.metadata, io, [await dataFile('two', 10, 19)]));
    expect(await table.files()).toEqual(['one.parquet', 'two.parquet']);
  });
});

describe('maintenance', () => {
  it('expiry deletes only what expired snapshots alone reference, never a live file', async () => {
    const table = await Table.create('expire');
    const t0 = Date.now();
    const [a, b] = [await dataFile('a', 0, 9), await dataFile('b', 10, 19)];
    await table.commit(await appendFiles(table.metadata, io, [a], { nowMs: t0 }), t0);
    await table.commit(await appendFiles(table.metadata, io, [b], { nowMs: t0 + 1 }), t0 + 1);
    const ab = await dataFile('ab', 0, 19);
    await table.commit(await replaceFiles(table.metadata, io, [a, b], [ab], { nowMs: t0 + 2 }), t0 + 2);
    const c = await dataFile('c', 20, 29);
    await table.commit(await appendFiles(table.metadata, io, [c], { nowMs: t0 + 3 }), t0 + 3);
    const [s1, s2, s3, s4] = table.metadata.snapshots!;

    // A tag keeps s2 (and what it reaches) alive.
    await table.commit({ requirements: [], updates: [{ action: 'set-snapshot-ref', 'ref-name': 'audit', type: 'tag', 'snapshot-id': s2!['snapshot-id'] }] });
    const tagged = await expireSnapshots(table.metadata, io, { olderThanMs: t0 + 100, retainLast: 1 });
    expect(tagged.expiredSnapshotIds.sort()).toEqual([s1!['snapshot-id'], s3!['snapshot-id']].sort());
    expect(tagged.filesToDelete.some((f) => f.endsWith('/a.parquet') || f.endsWith('/b.parquet'))).toBe(false);
    await table.commit({ requirements: [], updates: [{ action: 'remove-snapshot-ref', 'ref-name': 'audit' }] });

    const plan = await expireSnapshots(table.metadata, io, { olderThanMs: t0 + 100, retainLast: 1 });
    expect([...plan.expiredSnapshotIds].sort()).toEqual([s1, s2, s3].map((s) => s!['snapshot-id']).sort());
    expect(plan.updates).toEqual([{ action: 'remove-snapshots', 'snapshot-ids': plan.expiredSnapshotIds }]);
    const names = plan.filesToDelete.map((f) => f.split('/').pop()!);
    expect(names.filter((n) => n.endsWith('.parquet')).sort()).toEqual(['a.parquet', 'b.parquet']);
    expect(names.filter((n) => n.startsWith('snap-')).length).toBe(3);
    for (const live of ['ab.parquet', 'c.parquet']) expect(names).not.toContain(live);
    const liveManifests = (await readManifestList(io, s4!['manifest-list'])).map((m) => m.manifestPath);
    for (const m of liveManifests) expect(plan.filesToDelete).not.toContain(m);

    await table.commit(plan);
    await Promise.all(plan.filesToDelete.map((f) => io.delete(f)));
    expect(table.metadata.snapshots!.map((s) => s['snapshot-id'])).toEqual([s4!['snapshot-id']]);
    expect(await table.files()).toEqual(['ab.parquet', 'c.parquet']);
    for (const f of [ab, c]) expect(await io.exists(f.filePath)).toBe(true);

    // retainLast keeps history; nothing old enough: nothing to do.
    expect((await expireSnapshots(table.metadata, io, { olderThanMs: t0 - 1, retainLast: 1 })).updates).toEqual([]);
    await expect(expireSnapshots(table.metadata, io, { olderThanMs: t0, retainLast: 0 })).rejects.toThrow(/retainLast/);
  });

  it('keeps the newest retainLast snapshots of main even when old', async () => {
    const table = await Table.create('retain');
    for (let i = 0; i < 4; i++) await table.commit(await appendFiles(table.metadata, io, [await dataFile(`f${i}`, i * 10, i * 10 + 9)], { nowMs: 1000 + i }), 1000 + i);
    const plan = await expireSnapshots(table.metadata, io, { olderThanMs: Date.now(), retainLast: 2 });
    expect(plan.expiredSnapshotIds.sort()).toEqual(table.metadata.snapshots!.slice(0, 2).map((s) => s['snapshot-id']).sort());
    // Appends carry every data file forward: none is deletable, only the two old manifest lists.
    expect(plan.filesToDelete.map((f) => f.split('/').pop()!).every((n) => n.startsWith('snap-'))).toBe(true);
    expect(plan.filesToDelete.length).toBe(2);
  });

  it('finds files nothing references, sparing young files and metadata files', async () => {
    const table = await Table.create('orphans');
    await table.commit(await appendFiles(table.metadata, io, [await dataFile('kept', 0, 9)]));
    const stray = await dataFile('stray', 10, 19); // written, never committed
    const failed = await appendFiles(table.metadata, io, [await dataFile('lost', 20, 29)]); // produced, never committed
    await mkdir(join(dir.path, 'orphans', 'metadata'), { recursive: true });
    await writeFile(join(dir.path, 'orphans', 'metadata', 'v1.metadata.json.1234.tmp'), '{');
    await writeFile(join(dir.path, 'orphans', 'metadata', 'v9.metadata.json'), '{}'); // a commit in flight
    const young = await dataFile('young', 30, 39);
    const past = new Date(Date.now() - 60_000);
    for await (const f of io.list(location)) if (!f.location.endsWith('young.parquet')) await utimes(io.localPath(f.location), past, past);

    const orphans = await findOrphanFiles(table.metadata, io, location, { olderThanMs: Date.now() - 30_000, metadataFile: table.metadataFile });
    const names = orphans.map((f) => f.location.split('/').pop()!).sort();
    expect(names).toEqual(
      ['lost.parquet', 'stray.parquet', 'v1.metadata.json.1234.tmp', ...failed.writtenFiles.map((f) => f.split('/').pop()!)].sort(),
    );
    expect(names).not.toContain(young.filePath.split('/').pop());
    expect(stray.filePath).toBeTruthy();

    // Once v1 drops out of metadata-log and is no longer current, it is an orphan too.
    const trimmed = { ...table.metadata, 'metadata-log': [] };
    const later = await findOrphanFiles(trimmed, io, location, { olderThanMs: Date.now() - 30_000, metadataFile: table.metadataFile });
    expect(later.map((f) => f.location.split('/').pop())).toContain('v1.metadata.json');
    expect(later.map((f) => f.location.split('/').pop())).not.toContain('v2.metadata.json');
    expect(later.map((f) => f.location.split('/').pop())).not.toContain('v9.metadata.json');
  });
});

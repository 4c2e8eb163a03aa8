import { access, copyFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { icebergRead } from 'icebird';
import { LocalFileIO, readManifestList } from '@chainlake/iceberg';
import { LocalWarehouse, ManifestStore } from '@chainlake/lake';
import { transactions } from '@chainlake/schema';
import { allowFileFetch } from '@chainlake/testkit';
import {
  currentSnapshotId, expectedChecksum, generated, liveFiles, metricValue, publishHeads, requestJob, startCompactor, startLake, tableChecksum,
  waitForFinalized, type Compactor, type TestLake,
} from './helpers.js';

const exists = (path: string) => access(path).then(() => true, () => false);

describe('merge and maintenance', () => {
  let lake: TestLake;
  let compactor: Compactor;
  let stopHeads: () => void = () => undefined;
  let restoreFetch: () => void = () => undefined;
  let tableDir: string;
  const expected = expectedChecksum(transactions, generated(0, 999).transactions);

  /** What icebird (third party) reads: `block:index:hash` of every row, sorted. */
  async function icebirdRows(metadataFileName?: string): Promise<string[]> {
    const rows = await icebergRead({ tableUrl: `file://${tableDir}`, metadataFileName });
    return rows.map((r) => `${r.block_number}:${r.transaction_index}:${r.transaction_hash}:${r.value}`).sort();
  }

  beforeAll(async () => {
    lake = await startLake('c_merge', 250);
    tableDir = join(lake.warehouse, 'synthetic', 'transactions');
    compactor = await startCompactor(lake, { CHAINLAKE_COMPACTOR_THRESHOLD_BLOCKS: '0' });
    stopHeads = publishHeads(lake.bus, 2_000);
    restoreFetch = allowFileFetch();
    await lake.hot.writeRange('transactions', 0, 999, generated(0, 999).transactions);
    await waitForFinalized(compactor, 2_000);
    // Small files: at most 50 rows each (about 5 blocks).
    const reply = await requestJob(lake.bus, 'hot-to-cold', { dataset: 'transactions', from: 0, to: 999, chunk_size: 50 });
    expect(reply).toMatchObject({ ok: true });
  });

  afterAll(async () => {
    restoreFetch();
    stopHeads();
    await compactor?.process.stop();
    await lake?.close();
  });

  it('merges 200 small files into a handful that icebird reads identically; the old snapshot time-travels', async () => {
    const before = await liveFiles(lake.client, 'transactions');
    expect(before.length).toBeGreaterThanOrEqual(200);
    const rowsBefore = await icebirdRows();
    expect(rowsBefore).toHaveLength(expected.rows);
    const snapshotBefore = await currentSnapshotId(lake.client, 'transactions');
    const metadataBefore = basename((await lake.client.loadTable('synthetic', 'transactions')).metadataLocation!);
    const options = { dataset: 'transactions', min_file_count: 4, max_file_size: 1_000_000, target_file_size: 64_000_000 };

    const plan = await requestJob(lake.bus, 'merge', { ...options, dry_run: true });
    expect(plan).toMatchObject({ ok: true, result: { dry_run: true, partitions: 4, files_before: before.length, files_after: 4, snapshot_id: null } });
    expect((plan.result!.plan as Array<{ partition: string }>).map((p) => p.partition)).toEqual(['block_range=0-249', 'block_range=250-499', 'block_range=500-749', 'block_range=750-999']);
    expect(await currentSnapshotId(lake.client, 'transactions')).toBe(snapshotBefore);
    expect(await liveFiles(lake.client, 'transactions')).toEqual(before);

    const merged = await requestJob(lake.bus, 'merge', options);
    expect(merged, merged.error).toMatchObject({ ok: true, result: { dry_run: false, files_before: before.length, files_after: 4 } });
    const after = await liveFiles(lake.client, 'transactions');
    expect(after.map((f) => basename(f).replace(/-\w+\.parquet$/, ''))).toEqual(['transactions_0_249_0', 'transactions_250_499_0', 'transactions_500_749_0', 'transactions_750_999_0']);
    expect(await tableChecksum(lake, transactions)).toEqual(expected);
    expect(await icebirdRows()).toEqual(rowsBefore);
    expect((await lake.client.loadTable('synthetic', 'transactions')).metadata.snapshots!.at(-1)!.summary).toMatchObject({
      operation: 'replace', 'deleted-data-files': String(before.length), 'added-data-files': '4', 'total-records': String(expected.rows),
    });
    // Time travel: the table as it was before the merge, read from its old metadata file and from its snapshot.
    expect(await icebirdRows(metadataBefore)).toEqual(rowsBefore);
    expect(await tableChecksum(lake, transactions, snapshotBefore)).toEqual(expected);
    expect(await metricValue(compactor.base, /^chainlake_compactor_merge_input_files_total\{dataset="transactions"\}/)).toBe(before.length);
    expect(await metricValue(compactor.base, /^chainlake_compactor_merge_output_files_total\{dataset="transactions"\}/)).toBe(4);
    // A second merge finds nothing to do.
    expect(await requestJob(lake.bus, 'merge', options)).toMatchObject({ ok: true, result: { partitions: 0, files_before: 0 } });

    // Expiry later removes the old snapshot: its files are gone, the current table reads the same.
    const orphan = join(tableDir, 'data', 'block_range=0-249', 'transactions_0_9_0-orphan.parquet');
    await copyFile(after[0], orphan);
    // A file the archiver published and listed but has not committed yet: never an orphan.
    const pending = join(tableDir, 'data', 'block_range=1000-1249', 'transactions_1000_1000_0-pending.parquet');
    await mkdir(dirname(pending), { recursive: true });
    await writeFile(pending, await readFile(after[0]));
    const sha = 'a'.repeat(64);
    await new ManifestStore(new LocalWarehouse(lake.warehouse)).update('synthetic', 'transactions', (m) => ({
      ...m, files: [...m.files, { path: 'data/block_range=1000-1249/transactions_1000_1000_0-pending.parquet', partition: 'block_range=1000-1249', start: 1000, end: 1000, rows: 1, bytes: 1, sha256: sha, writeId: 'pending', addedAt: new Date().toISOString() }],
    }));
    await new Promise((r) => setTimeout(r, 20));

    const dry = await requestJob(lake.bus, 'maintenance', { dataset: 'transactions', retention_ms: 0, orphan_age_ms: 0, dry_run: true });
    expect(dry).toMatchObject({ ok: true, result: { dry_run: true, snapshots_expired: 1, expired_files_deleted: expect.any(Number), orphan_files_deleted: 1 } });
    expect((dry.result!.expired_files_deleted as number)).toBeGreaterThanOrEqual(before.length);
    expect(await Promise.all(before.map(exists))).not.toContain(false);
    expect(await exists(orphan)).toBe(true);

    const bytesBefore = (await Promise.all(before.map((f) => stat(f)))).reduce((sum, s) => sum + s.size, 0);
    const done = await requestJob(lake.bus, 'maintenance', { dataset: 'transactions', retention_ms: 0, orphan_age_ms: 0 });
    expect(done).toMatchObject({ ok: true, result: { dry_run: false, snapshots_expired: 1, orphan_files_deleted: 1, orphan_bytes_deleted: (await stat(after[0])).size } });
    expect(done.result!.expired_bytes_deleted as number).toBeGreaterThan(bytesBefore);
    expect(await Promise.all(before.map(exists))).not.toContain(true);
    expect(await exists(orphan)).toBe(false);
    expect(await exists(pending)).toBe(true);

    // Nothing the live snapshot references was deleted.
    const io = new LocalFileIO();
    const { metadata } = await lake.client.loadTable('synthetic', 'transactions');
    expect(metadata.snapshots!.map((s) => s['snapshot-id'])).toEqual([metadata['current-snapshot-id']]);
    const current = metadata.snapshots![0];
    const referenced = [current['manifest-list'], ...(await readManifestList(io, current['manifest-list'])).map((m) => m.manifestPath), ...after];
    expect(await Promise.all(referenced.map((l) => exists(io.localPath(l))))).not.toContain(false);
    expect(await icebirdRows()).toEqual(rowsBefore);
    await expect(icebirdRows(metadataBefore)).rejects.toThrow();
    expect(await metricValue(compactor.base, /^chainlake_compactor_snapshots_expired_total\{dataset="transactions"\}/)).toBe(1);
  });
});

import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transactions } from '@chainlake/schema';
import {
  currentSnapshotId, expectedChecksum, generated, hotRows, liveFiles, metricValue, publishHeads, requestJob, startCompactor, startLake, tableChecksum,
  writeHot, type Compactor, type TestLake,
} from './helpers.js';

const FINALIZED = 1_000;

interface ListedFile { path: string; fullPath: string; partition: string; start: number; end: number; rows: number }

/** Files of one partition follow each other without gap or overlap and cover its part of [from, to]; names carry their ranges. */
function expectCoverage(files: readonly ListedFile[], from: number, to: number, maxRows: number): void {
  const partitions = new Map<string, ListedFile[]>();
  for (const f of files) partitions.set(f.partition, [...(partitions.get(f.partition) ?? []), f]);
  for (const [partition, list] of partitions) {
    const [, start, end] = /^block_range=(\d+)-(\d+)$/.exec(partition)!.map(Number);
    const sorted = [...list].sort((a, b) => a.start - b.start);
    expect(sorted[0].start).toBe(Math.max(from, start));
    expect(sorted[sorted.length - 1].end).toBe(Math.min(to, end));
    sorted.forEach((f, i) => {
      if (i > 0) expect(f.start).toBe(sorted[i - 1].end + 1);
      expect(f.path).toMatch(new RegExp(`/transactions_${f.start}_${f.end}_\\d+-\\w+\\.parquet$`));
    });
  }
  expect(Math.max(...files.map((f) => f.rows))).toBeLessThanOrEqual(maxRows);
}

describe('hot→cold', () => {
  let lake: TestLake;
  let compactor: Compactor;
  let stopHeads: () => void = () => undefined;

  beforeAll(async () => {
    lake = await startLake('c_h2c', 100);
    compactor = await startCompactor(lake, { CHAINLAKE_COMPACTOR_THRESHOLD_BLOCKS: '0' });
    await writeHot(lake.hot, 0, 249, ['transactions']);
    await writeHot(lake.hot, 1_001, 1_010, ['transactions']);
  });

  afterAll(async () => {
    stopHeads();
    await compactor?.process.stop();
    await lake?.close();
  });

  const tableDir = () => join(lake.warehouse, 'synthetic', 'transactions');
  const manifestFiles = async (): Promise<ListedFile[]> => {
    const manifest = JSON.parse(await readFile(join(tableDir(), 'manifest.json'), 'utf8')) as { files: Omit<ListedFile, 'fullPath'>[] };
    return manifest.files.map((f) => ({ ...f, fullPath: join(tableDir(), f.path) })).sort((a, b) => (a.fullPath < b.fullPath ? -1 : 1));
  };

  /** The table's snapshot and the hot rows, to show that a refused job changed nothing. */
  const observed = async () => ({ snapshot: await currentSnapshotId(lake.client, 'transactions'), hot: await hotRows(lake.pool, 'transactions') });

  it('refuses a range while the finalized height is unknown, an inverted or non-final range, an unknown dataset or parameter; nothing changes', async () => {
    const before = await observed();
    expect(await requestJob(lake.bus, 'hot-to-cold', { dataset: 'transactions', from: 0, to: 99 })).toMatchObject({
      ok: false, reason: 'invalid', error: expect.stringMatching(/finalized height of chain synthetic is not known yet/),
    });
    stopHeads = publishHeads(lake.bus, FINALIZED);
    await expect.poll(() => metricValue(compactor.base, /^chainlake_compactor_finalized_block /)).toBe(FINALIZED);

    const refused = [
      [{ dataset: 'transactions', from: 200, to: 100 }, /inverted block range: from 200 is above to 100/],
      [{ dataset: 'transactions', from: 990, to: 1_010 }, /blocks 1001-1010 are not final \(finalized height 1000\)/],
      [{ dataset: 'receipts', from: 0, to: 99 }, /unknown dataset "receipts"; this compactor's datasets are blocks, transactions, logs/],
      [{ dataset: 'transactions', from: 0, to: 99, chunksize: 10 }, /Unrecognized key: "chunksize" \(parameters are dataset, from, to, chunk_size, delete_after_compact\)/],
      [{ dataset: 'transactions', from: -1, to: 99 }, /from: /],
    ] as const;
    for (const [params, error] of refused) {
      expect(await requestJob(lake.bus, 'hot-to-cold', params)).toMatchObject({ ok: false, reason: 'invalid', error: expect.stringMatching(error) });
    }
    const http = await fetch(`${compactor.base}/jobs/hot-to-cold`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ dataset: 'transactions', from: 5, to: 4 }) });
    expect(http.status).toBe(400);
    expect(await http.json()).toMatchObject({ ok: false, error: expect.stringMatching(/inverted block range/) });
    expect(await observed()).toEqual(before);
    expect(await metricValue(compactor.base, /^chainlake_compactor_jobs_total\{job="hot-to-cold",result="invalid"\}/)).toBe(7);
  });

  it('twice over one range gives the same table: the second run replaces the first run’s files', async () => {
    const expected = expectedChecksum(transactions, generated(0, 249).transactions);
    const first = await requestJob(lake.bus, 'hot-to-cold', { dataset: 'transactions', from: 0, to: 249, chunk_size: 300, delete_after_compact: false });
    expect(first).toMatchObject({ ok: true, result: { rows: expected.rows, written: { from: 0, to: 249 }, replaced_files: 0, hot_rows_deleted: 0 } });
    const afterFirst = await tableChecksum(lake, transactions);
    expect(afterFirst).toEqual(expected);
    const firstFiles = await liveFiles(lake.client, 'transactions');
    expect(firstFiles).toEqual((await manifestFiles()).map((f) => f.fullPath));
    expectCoverage(await manifestFiles(), 0, 249, 300);

    const second = await requestJob(lake.bus, 'hot-to-cold', { dataset: 'transactions', from: 0, to: 249, chunk_size: 300, delete_after_compact: 'true' });
    expect(second).toMatchObject({ ok: true, result: { rows: expected.rows, replaced_files: firstFiles.length, hot_rows_deleted: expected.rows } });
    expect(await tableChecksum(lake, transactions)).toEqual(expected);
    const secondFiles = await liveFiles(lake.client, 'transactions');
    expect(secondFiles).toHaveLength(firstFiles.length);
    expect(secondFiles.some((f) => firstFiles.includes(f))).toBe(false);

    const { metadata } = await lake.client.loadTable('synthetic', 'transactions');
    expect(metadata.snapshots!.map((s) => s.summary.operation)).toEqual(['append', 'overwrite']);
    expect(metadata.snapshots![1].summary).toMatchObject({ 'deleted-records': String(expected.rows), 'added-records': String(expected.rows), 'total-records': String(expected.rows) });

    // manifest.json lists exactly the live files; they cover the range in partitions of 100 blocks.
    expect((await manifestFiles()).map((f) => f.fullPath)).toEqual(secondFiles);
    expectCoverage(await manifestFiles(), 0, 249, 300);
    expect(await readdir(join(lake.warehouse, '_staging')).catch(() => [])).toEqual([]);
  });

  it('refuses to replace cold rows the hot tier no longer holds, and changes nothing', async () => {
    const before = { ...(await observed()), checksum: await tableChecksum(lake, transactions) };
    expect(before.hot).toBe(generated(1_001, 1_010).transactions.numRows);
    expect(await requestJob(lake.bus, 'hot-to-cold', { dataset: 'transactions', from: 0, to: 249 })).toMatchObject({
      ok: false, reason: 'failed', error: expect.stringMatching(/the hot tier holds no rows of transactions in blocks 0-249 \(it holds 1001-1010\): nothing to compact, nothing changed/),
    });
    await writeHot(lake.hot, 100, 149, ['transactions']);
    expect(await requestJob(lake.bus, 'hot-to-cold', { dataset: 'transactions', from: 0, to: 249 })).toMatchObject({
      ok: false, reason: 'failed', error: expect.stringMatching(/block_range=0-99\/transactions_0_\d+_0-\w+\.parquet holds blocks 0-\d+, but the hot tier has only 100-249 of blocks 0-249: replacing it would lose rows/),
    });
    expect({ ...(await observed()), checksum: await tableChecksum(lake, transactions) }).toEqual({ ...before, hot: before.hot + generated(100, 149).transactions.numRows });
  });

  it('writes a range whose ends files already hold without overlapping them', async () => {
    // Blocks 100-249 are hot again; [120, 240] cuts through one file at each end: only the blocks between is rewritten.
    await writeHot(lake.hot, 150, 249, ['transactions']);
    const files = await manifestFiles();
    const low = files.find((f) => f.start <= 120 && f.end >= 120)!;
    const high = files.find((f) => f.start <= 240 && f.end >= 240)!;
    const reply = await requestJob(lake.bus, 'hot-to-cold', { dataset: 'transactions', from: 120, to: 240, chunk_size: 100, delete_after_compact: false });
    expect(reply).toMatchObject({
      ok: true,
      result: { written: { from: low.end + 1, to: high.start - 1 }, replaced_files: files.filter((f) => f.start > low.end && f.end < high.start).length },
    });
    expect(await tableChecksum(lake, transactions)).toEqual(expectedChecksum(transactions, generated(0, 249).transactions));
    expectCoverage(await manifestFiles(), 0, 249, 300);
  });
});

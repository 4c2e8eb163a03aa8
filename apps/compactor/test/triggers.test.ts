import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blocks } from '@chainlake/schema';
import {
  expectedChecksum, generated, hotRows, metricValue, publishHeads, startCompactor, startLake, tableChecksum, writeHot, type Compactor, type TestLake,
} from './helpers.js';

describe('automatic triggers', () => {
  let lake: TestLake;
  let compactor: Compactor;
  let stopHeads: () => void = () => undefined;
  const jobsDone = (job: string) => metricValue(compactor.base, new RegExp(`^chainlake_compactor_jobs_total\\{job="${job}",result="ok"\\}`));

  beforeAll(async () => {
    lake = await startLake('c_trig', 1_000);
    await writeHot(lake.hot, 0, 299, ['blocks']);
    compactor = await startCompactor(lake, {
      CHAINLAKE_COMPACTOR_THRESHOLD_BLOCKS: '100',
      CHAINLAKE_COMPACTOR_DELETE_AFTER_COMPACT: 'false',
      CHAINLAKE_COMPACTOR_SCHEDULE: 'maintenance=* * * * * *',
    });
  });

  afterAll(async () => {
    stopHeads();
    await compactor?.process.stop();
    await lake?.close();
  });

  it('runs hot→cold once the finalized blocks waiting in the hot tier reach the threshold, continuing where it stopped', async () => {
    stopHeads = publishHeads(lake.bus, 50);
    await expect.poll(() => metricValue(compactor.base, /^chainlake_compactor_finalized_block /)).toBe(50);
    await sleep(1_500);
    expect(await jobsDone('hot-to-cold')).toBe(0); // 51 finalized blocks wait: below the threshold

    stopHeads();
    stopHeads = publishHeads(lake.bus, 180);
    await expect.poll(() => jobsDone('hot-to-cold'), { timeout: 15_000 }).toBe(1);
    expect(await tableChecksum(lake, blocks)).toEqual(expectedChecksum(blocks, generated(0, 180).blocks));

    // The rows stay hot (delete_after_compact off): the checkpoint in NATS KV says where the next job starts.
    await writeHot(lake.hot, 300, 399, ['blocks']);
    stopHeads();
    stopHeads = publishHeads(lake.bus, 350);
    await expect.poll(() => jobsDone('hot-to-cold'), { timeout: 15_000 }).toBe(2);
    expect(await tableChecksum(lake, blocks)).toEqual(expectedChecksum(blocks, generated(0, 350).blocks));
    expect(await hotRows(lake.pool, 'blocks')).toBe(400);
    const { metadata } = await lake.client.loadTable('synthetic', 'blocks');
    expect(metadata.snapshots!.map((s) => s.summary['chainlake.block-range'])).toEqual(['0-180', '181-350']);
  });

  it('runs scheduled jobs for every dataset on their cron expression', async () => {
    const start = await jobsDone('maintenance');
    await expect.poll(() => jobsDone('maintenance'), { timeout: 5_000 }).toBeGreaterThanOrEqual(start + 3);
  });
});

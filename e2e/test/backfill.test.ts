import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { icebergManifests, icebergMetadata, icebergRead } from 'icebird';
import { connectBus, deleteStreams } from '@chainlake/bus';
import type { TableManifest } from '@chainlake/lake';
import { allowFileFetch, tempDir, testNatsUrl, uniquePrefix, type ServiceProcess } from '@chainlake/testkit';
import {
  catalogEnv, dropMeshSchema, expectedChecksums, expectedTables, lakeChecksums, meshEnv, printLogsOnFailure, startMesh, waitForRows,
} from './pipeline.js';

const BLOCKS = 2000;

async function cleanupNats(prefix: string): Promise<void> {
  const bus = await connectBus({ servers: testNatsUrl(), prefix, name: 'e2e-cleanup' });
  await deleteStreams(bus);
  await bus.drain();
}

describe('backfill: synthetic chain → source → transformer → archiver → Parquet', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let prefix: string;
  let procs: ServiceProcess[] = [];

  beforeEach(async () => {
    dir = await tempDir('e2e');
    prefix = uniquePrefix('e2e');
    procs = [];
  });

  afterEach(async () => {
    await Promise.all(procs.map((p) => { p.kill('SIGKILL'); return p.exited; }));
    await cleanupNats(prefix);
    await dropMeshSchema(meshEnv(prefix, dir.path));
    await dir.remove();
  });

  it(`lands exactly the ${BLOCKS} generated blocks, no gap, no duplicate, in Iceberg tables a third-party reader reads`, async () => {
    const env = meshEnv(prefix, dir.path, { CHAINLAKE_BACKFILL_FROM: '0', CHAINLAKE_BACKFILL_TO: String(BLOCKS - 1), ...(await catalogEnv()) });
    const mesh = startMesh(env, dir.path, ['catalog', 'source', 'transformer', 'archiver']);
    printLogsOnFailure(mesh);
    procs.push(...Object.values(mesh));
    const expected = expectedChecksums(expectedTables(env, 0, BLOCKS - 1));
    await waitForRows(env.CHAINLAKE_WAREHOUSE, 'synthetic', expected, 120_000);
    const seen = await lakeChecksums(env.CHAINLAKE_WAREHOUSE, 'synthetic');
    for (const [table, want] of Object.entries(expected)) {
      expect(seen[table], table).toEqual({ rows: want.rows, distinctKeys: want.rows, md5: want.md5 });
    }
    expect(expected.blocks.rows).toBe(BLOCKS);

    const restoreFetch = allowFileFetch();
    try {
      for (const [table, want] of Object.entries(expected)) {
        const tableDir = join(env.CHAINLAKE_WAREHOUSE, 'synthetic', table);
        const listed = (JSON.parse(await readFile(join(tableDir, 'manifest.json'), 'utf8')) as TableManifest).files;
        const entries = (await icebergManifests(await icebergMetadata({ tableUrl: pathToFileURL(tableDir).href }))).flatMap((m) => m.entries);
        const live = entries.filter((e) => e.status !== 2);
        expect(live.map((e) => e.data_file.file_path).sort(), table).toEqual(listed.map((f) => pathToFileURL(join(tableDir, f.path)).href).sort());
        expect(live.reduce((sum, e) => sum + Number(e.data_file.record_count), 0), table).toBe(want.rows);
      }
      const blocks = await icebergRead({ tableUrl: pathToFileURL(join(env.CHAINLAKE_WAREHOUSE, 'synthetic', 'blocks')).href });
      const generated = expectedTables(env, 0, BLOCKS - 1).blocks.getChild('block_hash')!.toArray() as string[];
      expect(blocks.map((b) => b.block_hash).sort()).toEqual([...generated].sort());
    } finally {
      restoreFetch();
    }
    for (const p of Object.values(mesh)) expect((await p.stop()).code, p.name).toBe(0);
  }, 180_000);

  it('ends with exactly the same rows when transformer and archiver are SIGKILLed mid-run and restarted', async () => {
    const env = meshEnv(prefix, dir.path, {
      CHAINLAKE_BACKFILL_FROM: '0',
      CHAINLAKE_BACKFILL_TO: String(BLOCKS - 1),
      CHAINLAKE_SEGMENT_BLOCKS: '25',
      CHAINLAKE_ARCHIVER_FLUSH_ROWS: '4000',
      CHAINLAKE_ARCHIVER_FLUSH_INTERVAL_MS: '300',
      CHAINLAKE_ACK_WAIT_MS: '4000',
    });
    const mesh = startMesh(env, dir.path);
    printLogsOnFailure(mesh);
    procs.push(...Object.values(mesh));
    await mesh.archiver.waitForLog((l) => l.msg === 'flushed', 60_000);
    mesh.transformer.kill('SIGKILL');
    mesh.archiver.kill('SIGKILL');
    await Promise.all([mesh.transformer.exited, mesh.archiver.exited]);
    const filesBefore = await lakeChecksums(env.CHAINLAKE_WAREHOUSE, 'synthetic');
    const expected = expectedChecksums(expectedTables(env, 0, BLOCKS - 1));
    expect(filesBefore.transactions.rows).toBeLessThan(expected.transactions.rows);

    const restarted = startMesh(env, dir.path, ['transformer', 'archiver']);
    printLogsOnFailure(restarted);
    procs.push(...Object.values(restarted));
    await waitForRows(env.CHAINLAKE_WAREHOUSE, 'synthetic', expected, 180_000);
    const seen = await lakeChecksums(env.CHAINLAKE_WAREHOUSE, 'synthetic');
    for (const [table, want] of Object.entries(expected)) {
      expect(seen[table], table).toEqual({ rows: want.rows, distinctKeys: want.rows, md5: want.md5 });
    }
  }, 240_000);
});

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDBInstance } from '@duckdb/node-api';
import { connectBus, deleteStreams, HeadMessage, publishCore, type Bus } from '@chainlake/bus';
import { HotStore } from '@chainlake/hot';
import { LocalFileIO, planFiles, RestCatalogClient } from '@chainlake/iceberg';
import { connectPostgres, type Pool } from '@chainlake/postgres';
import { evmDatasets, transactions } from '@chainlake/schema';
import { spawnService, tempDir, testNatsUrl, uniquePrefix, type ServiceProcess } from '@chainlake/testkit';
import { catalogEnv, dropMeshSchema, expectedChecksums, expectedTables, meshEnv, metric, printLogsOnFailure, startMesh } from './pipeline.js';

const FINALIZED = 10_000;
/** Compacted first, normally: the table before the job that gets killed. */
const BEFORE: [number, number] = [0, 499];
/** The job that gets killed: enough rows in small files to take a few seconds. */
const KILLED: [number, number] = [500, 2_499];

interface Checksum { rows: number; distinctKeys: number; md5: string }

/** Row count, distinct keys and md5 of the rows in the table's live files (what any Iceberg reader sees). */
async function tableChecksum(client: RestCatalogClient): Promise<Checksum> {
  const io = new LocalFileIO();
  const { metadata } = await client.loadTable('synthetic', 'transactions');
  const files: string[] = [];
  for await (const file of planFiles(metadata, io)) files.push(io.localPath(file.filePath));
  if (files.length === 0) return { rows: 0, distinctKeys: 0, md5: '' };
  const row = transactions.columns
    .map((c) => (c.type === 'timestamp' ? `coalesce(cast(epoch_us("${c.name}") as varchar), '\\N')` : `coalesce(cast("${c.name}" as varchar), '\\N')`))
    .join(` || '|' || `);
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    const result = await conn.runAndReadAll(
      `SELECT count(*)::BIGINT, count(DISTINCT (block_number, transaction_index))::BIGINT,
              coalesce(md5(string_agg(${row}, chr(10) ORDER BY block_number, transaction_index)), '')
       FROM read_parquet([${files.map((f) => `'${f}'`).join(', ')}])`,
    );
    const [n, k, h] = result.getRows()[0];
    return { rows: Number(n), distinctKeys: Number(k), md5: String(h) };
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

async function hotToCold(bus: Bus, range: [number, number], chunkSize: number, deleteAfterCompact = true): Promise<{ ok: boolean; error?: string }> {
  const body = JSON.stringify({ v: 1, dataset: 'transactions', from: range[0], to: range[1], chunk_size: chunkSize, delete_after_compact: deleteAfterCompact });
  const reply = await bus.nc.request(bus.subjects.control('compactor', 'hot-to-cold'), body, { timeout: 120_000 });
  return JSON.parse(new TextDecoder().decode(reply.data)) as { ok: boolean; error?: string };
}

describe('compactor killed mid hot→cold', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let env: Record<string, string>;
  let bus: Bus;
  let pool: Pool;
  let client: RestCatalogClient;
  let heads: NodeJS.Timeout | undefined;
  const procs: ServiceProcess[] = [];

  beforeAll(async () => {
    dir = await tempDir('e2e-compactor');
    const prefix = uniquePrefix('compact');
    env = meshEnv(prefix, dir.path, { ...(await catalogEnv()), CHAINLAKE_COMPACTOR_THRESHOLD_BLOCKS: '0' });
    bus = await connectBus({ servers: testNatsUrl(), prefix, name: 'e2e-compactor' });
    pool = await connectPostgres({ url: env.CHAINLAKE_POSTGRES_URL, schema: prefix });
    const hot = new HotStore({ pool, schema: prefix, chain: 'synthetic' });
    await hot.ensureTables(evmDatasets);
    const rows = expectedTables(env, BEFORE[0], KILLED[1]).transactions;
    await hot.writeRange('transactions', BEFORE[0], KILLED[1], rows);
    // The archiver creates the Iceberg tables at start, as in the mesh.
    const mesh = startMesh(env, dir.path, ['catalog', 'archiver']);
    procs.push(...Object.values(mesh));
    client = new RestCatalogClient({ uri: env.CHAINLAKE_CATALOG_URL });
    const deadline = Date.now() + 60_000;
    while (!(await client.tableExists('synthetic', 'transactions').catch(() => false))) {
      if (Date.now() > deadline) throw new Error('the archiver did not create synthetic.transactions');
      await sleep(200);
    }
    const sendHead = () => publishCore(bus, bus.subjects.head('synthetic'), HeadMessage, { v: 1, chain: 'synthetic', head: FINALIZED + 64, finalized: FINALIZED, at: new Date().toISOString() });
    heads = setInterval(sendHead, 100);
  });

  afterAll(async () => {
    clearInterval(heads);
    await Promise.all(procs.map((p) => p.stop()));
    await deleteStreams(bus).catch(() => undefined);
    await bus?.drain();
    await pool?.end();
    await dropMeshSchema(env);
    await dir?.remove();
  });

  /** A compactor process, once it knows the finalized height. */
  async function compactor(): Promise<ServiceProcess> {
    const proc = spawnService('compactor', env);
    procs.push(proc);
    const port = await proc.httpPort();
    for (;;) {
      if ((await metric(port, 'chainlake_compactor_finalized_block')) === FINALIZED) return proc;
      await sleep(100);
    }
  }

  it('leaves the table as before or as after the job, never in between; a re-run completes it', async () => {
    printLogsOnFailure(Object.fromEntries(procs.map((p, i) => [`${p.name}${i}`, p])));
    const expected = (from: number, to: number) => expectedChecksums(expectedTables(env, from, to)).transactions;
    const first = await compactor();
    expect(await hotToCold(bus, BEFORE, 200, false)).toMatchObject({ ok: true });
    const before = await tableChecksum(client);
    expect({ rows: before.rows, md5: before.md5 }).toEqual(expected(...BEFORE));
    const hotBefore = Number((await pool.query('SELECT count(*) AS n FROM hot_synthetic_transactions')).rows[0].n);

    // Small files make the job long; kill -9 once it has written some of them.
    // Never answered: the request fails when the bus closes.
    const job = hotToCold(bus, KILLED, 100).catch((err: Error) => ({ ok: false, error: err.message }));
    let settled = false;
    void job.then(() => (settled = true));
    const port = await first.httpPort();
    for (;;) {
      const status = (await (await fetch(`http://127.0.0.1:${port}/jobs`)).json()) as { running: Array<{ progress: { files?: number } }> };
      if (settled) throw new Error(`the job ended before it could be killed: ${JSON.stringify(await job)}`);
      if ((status.running[0]?.progress.files ?? 0) >= 40) break;
      await sleep(20);
    }
    first.kill('SIGKILL');
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });

    const after = { ...expected(BEFORE[0], KILLED[1]), distinctKeys: expected(BEFORE[0], KILLED[1]).rows };
    const afterKill = await tableChecksum(client);
    expect([before, after]).toContainEqual(afterKill);
    // The hot rows are deleted only after the commit: with the table as before, every one of them is still there.
    const hotNow = Number((await pool.query('SELECT count(*) AS n FROM hot_synthetic_transactions')).rows[0].n);
    if (afterKill.md5 === before.md5) expect(hotNow).toBe(hotBefore);

    // A restarted compactor repairs manifest.json if needed and a re-run (larger files, so quicker) completes the range.
    await compactor();
    expect(await hotToCold(bus, KILLED, 5_000)).toMatchObject({ ok: true });
    expect(await tableChecksum(client)).toEqual(after);
    const manifest = JSON.parse(await readFile(join(env.CHAINLAKE_WAREHOUSE, 'synthetic', 'transactions', 'manifest.json'), 'utf8')) as { files: Array<{ rows: number }> };
    expect(manifest.files.reduce((sum, f) => sum + f.rows, 0)).toBe(after.rows);
    expect(Number((await pool.query('SELECT count(*) AS n FROM hot_synthetic_transactions')).rows[0].n)).toBe(hotBefore - after.rows + before.rows);

    // Repairing the first range replaces its files; the replaced ones stay on disk for time travel. A restarted
    // archiver, which adopts unlisted files it finds, must not take them back into the table.
    expect(await hotToCold(bus, BEFORE, 1_000)).toMatchObject({ ok: true });
    expect(await tableChecksum(client)).toEqual(after);
    const archiver = procs.find((p) => p.name === 'archiver')!;
    await archiver.stop();
    const restarted = spawnService('archiver', { ...env, CHAINLAKE_SPOOL_DIR: join(dir.path, 'spool', 'archiver2') }, 'archiver');
    procs.push(restarted);
    await restarted.httpPort();
    expect(await tableChecksum(client)).toEqual(after);
    expect(Number((await pool.query('SELECT count(*) AS n FROM hot_synthetic_transactions')).rows[0].n)).toBe(0);
  });
});

// The compactor on its own: hot→cold of a 5M-row partition (rows/s, the compactor's peak RSS), and merge of small
// files (MB/s). References in the same run: PostgreSQL's own binary COPY of the same rows to nowhere (the read side),
// and DuckDB copying the same rows to one Parquet file (the write side).
import { readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { to as copyTo } from 'pg-copy-streams';
import { DuckDBInstance } from '@duckdb/node-api';
import { connectBus, deleteStreams, HeadMessage, publishCore, type Bus } from '@chainlake/bus';
import { decode } from '@chainlake/chain-evm';
import { SyntheticChain, syntheticOptionsFromEnv } from '@chainlake/chain-synthetic';
import { HotStore, hotTableName } from '@chainlake/hot';
import { LocalFileIO, planFiles, RestCatalogClient } from '@chainlake/iceberg';
import { connectPostgres, type Pool } from '@chainlake/postgres';
import { evmDatasets } from '@chainlake/schema';
import { spawnService, tempDir, testNatsUrl, uniquePrefix, type ServiceProcess } from '@chainlake/testkit';
import type { Table } from 'apache-arrow';
import { catalogEnv, dropMeshSchema, meshEnv, startMesh } from '../test/pipeline.js';

const ROWS = Number(process.env.CHAINLAKE_BENCH_COMPACT_ROWS ?? 5_000_000);
/** Blocks whose logs are merged (generated 1,000 blocks at a time). */
const MERGE_BLOCKS = Number(process.env.CHAINLAKE_BENCH_MERGE_BLOCKS ?? 5_000);
const TXS_PER_BLOCK = 100;
const PARTITION_BLOCKS = 100_000;
const GENERATE_BLOCKS = 1_000;

const dir = await tempDir('bench-compactor');
const prefix = uniquePrefix('bench_compact');
const env = meshEnv(prefix, dir.path, {
  ...(await catalogEnv()),
  CHAINLAKE_PARTITION: `block_range:${PARTITION_BLOCKS}`,
  CHAINLAKE_SYNTHETIC_TXS_PER_BLOCK: String(TXS_PER_BLOCK),
  CHAINLAKE_COMPACTOR_THRESHOLD_BLOCKS: '0',
  CHAINLAKE_LOG_LEVEL: 'warn',
});
const mb = (bytes: number) => bytes / 1e6;
const seconds = (since: number) => (performance.now() - since) / 1000;

/** Peak resident set size of a process so far, in MB (Linux VmHWM). */
function peakRssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmHWM:'))!;
  return Number(line.split(/\s+/)[1]) / 1024;
}

async function liveFiles(client: RestCatalogClient, table: string): Promise<Array<{ path: string; bytes: number; rows: number }>> {
  const io = new LocalFileIO();
  const { metadata } = await client.loadTable('synthetic', table);
  const files = [];
  for await (const f of planFiles(metadata, io)) files.push({ path: io.localPath(f.filePath), bytes: f.fileSizeInBytes, rows: f.recordCount });
  return files;
}

async function job(bus: Bus, name: string, params: Record<string, unknown>): Promise<Record<string, number>> {
  const reply = await bus.nc.request(bus.subjects.control('compactor', name), JSON.stringify({ v: 1, ...params }), { timeout: 1_800_000 });
  const outcome = JSON.parse(new TextDecoder().decode(reply.data)) as { ok: boolean; error?: string; result: Record<string, number> };
  if (!outcome.ok) throw new Error(`${name} failed: ${outcome.error}`);
  return outcome.result;
}

/** DuckDB copying the given Parquet files into one Parquet file (snappy, as ours), in seconds. */
async function duckdbCopy(files: readonly string[], out: string): Promise<number> {
  const db = await DuckDBInstance.create(':memory:', { threads: '2' });
  const conn = await db.connect();
  try {
    const started = performance.now();
    await conn.run(`COPY (SELECT * FROM read_parquet([${files.map((f) => `'${f}'`).join(', ')}])) TO '${out}' (FORMAT parquet, COMPRESSION snappy)`);
    return seconds(started);
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

/** PostgreSQL streaming the rows out by binary COPY, drained: what reading the hot tier costs at the least. */
async function postgresCopyOut(pool: Pool, table: string, from: number, to: number): Promise<number> {
  const client = await pool.connect();
  try {
    const started = performance.now();
    const sql = `COPY (SELECT * FROM "${prefix}"."${table}" WHERE block_number BETWEEN ${from} AND ${to} ORDER BY block_number, transaction_index) TO STDOUT (FORMAT binary)`;
    await pipeline(client.query(copyTo(sql)), new Writable({ write: (_chunk, _enc, done) => done() }));
    return seconds(started);
  } finally {
    client.release();
  }
}

const procs: ServiceProcess[] = [];
const bus = await connectBus({ servers: testNatsUrl(), prefix, name: 'bench-compactor' });
const pool = await connectPostgres({ url: env.CHAINLAKE_POSTGRES_URL, schema: prefix });
let heads: NodeJS.Timeout | undefined;
try {
  // The hot tier: synthetic transactions, generated and written 1,000 blocks at a time.
  const hot = new HotStore({ pool, schema: prefix, chain: 'synthetic' });
  await hot.ensureTables(evmDatasets);
  const chain = new SyntheticChain(syntheticOptionsFromEnv(env));
  let rows = 0;
  let lastBlock = -1;
  const generating = performance.now();
  while (rows < ROWS) {
    const from = lastBlock + 1;
    const to = from + GENERATE_BLOCKS - 1;
    const tables = decode(chain.rawSegment(from, to), 1337) as unknown as Record<string, Table>;
    rows += await hot.writeRange('transactions', from, to, tables.transactions);
    if (to < MERGE_BLOCKS) await hot.writeRange('logs', from, to, tables.logs);
    lastBlock = to;
  }
  console.log(`generated ${rows} transaction rows (blocks 0-${lastBlock}) into the hot tier in ${seconds(generating).toFixed(1)} s`);

  // The archiver creates the tables (one partition of 100,000 blocks), then leaves the machine to the compactor.
  const mesh = startMesh(env, dir.path, ['catalog', 'archiver']);
  procs.push(...Object.values(mesh));
  const client = new RestCatalogClient({ uri: env.CHAINLAKE_CATALOG_URL });
  while (!(await client.tableExists('synthetic', 'logs').catch(() => false))) await sleep(200);
  await mesh.archiver.stop();
  const compactor = spawnService('compactor', { ...env, CHAINLAKE_LOG_LEVEL: 'info' });
  procs.push(compactor);
  await compactor.httpPort();
  console.log(`compactor idle: peak RSS ${peakRssMb(compactor.child.pid!).toFixed(0)} MB`);
  heads = setInterval(() => publishCore(bus, bus.subjects.head('synthetic'), HeadMessage, { v: 1, chain: 'synthetic', head: lastBlock + 64, finalized: lastBlock, at: new Date().toISOString() }), 100);
  await sleep(500);

  const pgSeconds = await postgresCopyOut(pool, hotTableName('synthetic', 'transactions'), 0, lastBlock);
  const started = performance.now();
  const result = await job(bus, 'hot-to-cold', { dataset: 'transactions', from: 0, to: lastBlock, delete_after_compact: false });
  const h2cSeconds = seconds(started);
  const peak = peakRssMb(compactor.child.pid!);
  const files = await liveFiles(client, 'transactions');
  const duckSeconds = await duckdbCopy(files.map((f) => f.path), join(dir.path, 'duckdb-reference.parquet'));
  console.log(
    `hot→cold: ${rows} rows in ${h2cSeconds.toFixed(1)} s = ${(rows / h2cSeconds / 1000).toFixed(0)}k rows/s ` +
      `(${result.files} files, ${mb(result.bytes).toFixed(0)} MB, one partition of ${PARTITION_BLOCKS} blocks); ` +
      `references: PostgreSQL binary COPY out alone ${(rows / pgSeconds / 1000).toFixed(0)}k rows/s, ` +
      `DuckDB Parquet → Parquet of the same rows ${(rows / duckSeconds / 1000).toFixed(0)}k rows/s`,
  );
  console.log(`hot→cold: compactor peak RSS ${peak.toFixed(0)} MB (target < 512 MB)`);

  // Merge: logs of the first blocks in files of 10,000 rows, merged into files near 256 MB.
  await job(bus, 'hot-to-cold', { dataset: 'logs', from: 0, to: MERGE_BLOCKS - 1, chunk_size: 10_000, delete_after_compact: false });
  const small = await liveFiles(client, 'logs');
  const inputBytes = small.reduce((sum, f) => sum + f.bytes, 0);
  const merging = performance.now();
  const merged = await job(bus, 'merge', { dataset: 'logs', min_file_count: 2 });
  const mergeSeconds = seconds(merging);
  const duckMerge = await duckdbCopy(small.map((f) => f.path), join(dir.path, 'duckdb-merge-reference.parquet'));
  const outputBytes = (await Promise.all((await liveFiles(client, 'logs')).map((f) => stat(f.path)))).reduce((sum, s) => sum + s.size, 0);
  console.log(
    `merge: ${merged.files_before} files (${mb(inputBytes).toFixed(1)} MB, ${small.reduce((s, f) => s + f.rows, 0)} log rows) → ${merged.files_after} ` +
      `(${mb(outputBytes).toFixed(1)} MB) in ${mergeSeconds.toFixed(1)} s = ${(mb(inputBytes) / mergeSeconds).toFixed(1)} MB/s; ` +
      `reference: DuckDB merging the same files ${(mb(inputBytes) / duckMerge).toFixed(1)} MB/s`,
  );
  console.log(`compactor peak RSS over both jobs ${peakRssMb(compactor.child.pid!).toFixed(0)} MB`);
} finally {
  clearInterval(heads);
  await Promise.all(procs.map((p) => p.stop()));
  await deleteStreams(bus).catch(() => undefined);
  await bus.drain();
  await pool.end();
  await dropMeshSchema(env);
  await dir.remove();
}

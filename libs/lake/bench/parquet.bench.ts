import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Table, tableToIPC, type RecordBatch } from 'apache-arrow';
import { DuckDBInstance } from '@duckdb/node-api';
import { ParquetWriterPool, writeParquet } from '../src/index.js';
import { transactionBatches, transactionSchema } from '../test/fixtures/transactions.js';

// Our writer against DuckDB's COPY on the same rows, codec (snappy), row-group size (122,880) and
// number of threads (2), each measured in rounds that alternate the kinds; the median and range
// are printed. CPU time (this process: calling thread, Parquet workers, DuckDB's threads) is
// printed too: on a shared machine it is steadier than wall-clock time. Our writer leaves the
// columns snappy does not shrink by 20% uncompressed (its default); DuckDB compresses every
// column, and so does the variant with minSavingPercent 0, the like-for-like comparison.
const ROWS = 1_000_000;
const ROUNDS = 5;
const kRowsPerSecond = (rows: number, ms: number) => Math.round(rows / ms);
const mb = (bytes: number) => `${Math.round(bytes / 1e6)} MB`;

interface Run {
  ms: number;
  cpuMs: number;
}

async function timed(fn: () => Promise<unknown>): Promise<Run> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  await fn();
  const ms = performance.now() - start;
  const { user, system } = process.cpuUsage(cpu);
  return { ms, cpuMs: (user + system) / 1000 };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];

const dir = await mkdtemp(join(tmpdir(), 'lake-bench-'));
try {
  let start = performance.now();
  const batches: RecordBatch[] = [...transactionBatches({ rows: ROWS })];
  const arrowBytes = batches.reduce((sum, b) => sum + b.data.children.reduce((s, c) => s + c.byteLength, 0), 0);
  console.log(`generated ${ROWS} transaction rows, ${mb(arrowBytes)} of Arrow, in ${Math.round(performance.now() - start)} ms`);

  start = performance.now();
  for (const batch of batches) tableToIPC(new Table([batch]), 'stream');
  const ipcMs = performance.now() - start;

  await writeParquet(join(dir, 'warmup.parquet'), transactionSchema, batches.slice(0, 1));
  const pool = new ParquetWriterPool({ workers: 2 });
  await Promise.all([0, 1].map((i) => pool.write(join(dir, `warm-${i}.parquet`), transactionSchema, batches.slice(0, 1))));

  const duck = await DuckDBInstance.create(':memory:', { threads: '2' });
  const connection = await duck.connect();
  const source = join(dir, 'ours.parquet');
  await writeParquet(source, transactionSchema, batches);
  await connection.run(`CREATE TABLE transactions AS SELECT * FROM read_parquet('${source}')`);

  const runs: Record<'ours' | 'parallel' | 'parallelAll' | 'none' | 'duck', Run[]> = { ours: [], parallel: [], parallelAll: [], none: [], duck: [] };
  const half = Math.ceil(batches.length / 2);
  const duckCopy = `COPY (SELECT * FROM transactions) TO '${join(dir, 'duck.parquet')}' (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE 122880)`;
  for (let round = 0; round < ROUNDS; round++) {
    runs.ours.push(await timed(() => writeParquet(join(dir, 'ours.parquet'), transactionSchema, batches)));
    runs.duck.push(await timed(() => connection.run(duckCopy)));
    runs.parallel.push(
      await timed(() =>
        Promise.all([
          pool.write(join(dir, 'part-0.parquet'), transactionSchema, batches.slice(0, half)),
          pool.write(join(dir, 'part-1.parquet'), transactionSchema, batches.slice(half)),
        ]),
      ),
    );
    runs.parallelAll.push(
      await timed(() =>
        Promise.all([
          pool.write(join(dir, 'all-0.parquet'), transactionSchema, batches.slice(0, half), { minSavingPercent: 0 }),
          pool.write(join(dir, 'all-1.parquet'), transactionSchema, batches.slice(half), { minSavingPercent: 0 }),
        ]),
      ),
    );
    runs.none.push(await timed(() => writeParquet(join(dir, 'none.parquet'), transactionSchema, batches, { compression: 'none' })));
  }
  connection.closeSync();
  duck.closeSync();
  await pool.close();

  const rate = (kind: Run[]) => kRowsPerSecond(ROWS, median(kind.map((r) => r.ms)));
  const range = (kind: Run[]) => `${kRowsPerSecond(ROWS, Math.max(...kind.map((r) => r.ms)))}–${kRowsPerSecond(ROWS, Math.min(...kind.map((r) => r.ms)))}k`;
  const cpu = (kind: Run[]) => `${(median(kind.map((r) => r.cpuMs)) / 1000).toFixed(2)} CPU s`;
  const duckRate = rate(runs.duck);
  console.log(`duckdb COPY, 2 threads, snappy: ${duckRate}k rows/s (median of ${ROUNDS}, runs ${range(runs.duck)}), ${cpu(runs.duck)}`);
  const line = (label: string, kind: Run[]) =>
    `${label}: ${rate(kind)}k rows/s (runs ${range(kind)}), ${cpu(kind)}; ratio to duckdb ${(rate(kind) / duckRate).toFixed(2)}, ` +
    `CPU ratio ${(median(runs.duck.map((r) => r.cpuMs)) / median(kind.map((r) => r.cpuMs))).toFixed(2)}`;
  console.log(line('parquet write, one file (one worker), snappy', runs.ours));
  console.log(line('parquet write, two files on 2 workers, snappy', runs.parallel));
  console.log(line('parquet write, two files on 2 workers, snappy on every column', runs.parallelAll));
  console.log(line('parquet write, one file, uncompressed', runs.none));
  const size = async (...names: string[]) => mb((await Promise.all(names.map((n) => stat(join(dir, n))))).reduce((sum, s) => sum + s.size, 0));
  console.log(
    `file sizes: ours ${await size('ours.parquet')}, every column snappy ${await size('all-0.parquet', 'all-1.parquet')}, ` +
      `duckdb ${await size('duck.parquet')}, uncompressed ${await size('none.parquet')}`,
  );
  console.log(`arrow IPC encoding on the calling thread: ${kRowsPerSecond(ROWS, ipcMs)}k rows/s (${Math.round(ipcMs)} ms)`);
  console.log(`peak RSS: ${mb(process.resourceUsage().maxRSS * 1024)} (the ${mb(arrowBytes)} of generated batches included)`);
} finally {
  await rm(dir, { recursive: true, force: true });
}

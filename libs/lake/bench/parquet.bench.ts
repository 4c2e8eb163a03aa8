import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Table, tableToIPC, type RecordBatch } from 'apache-arrow';
import { DuckDBInstance } from '@duckdb/node-api';
import { ParquetWriterPool, writeParquet } from '../src/index.js';
import { transactionBatches, transactionSchema } from '../test/fixtures/transactions.js';

const ROWS = 1_000_000;
const ROUNDS = 3;
const kRowsPerSecond = (rows: number, ms: number) => Math.round(rows / ms);
const mb = (bytes: number) => `${Math.round(bytes / 1e6)} MB`;

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

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

  const best = { ours: Infinity, none: Infinity, parallel: Infinity, duck: Infinity };
  const half = Math.ceil(batches.length / 2);
  for (let round = 0; round < ROUNDS; round++) {
    best.ours = Math.min(best.ours, await timed(() => writeParquet(join(dir, 'ours.parquet'), transactionSchema, batches)));
    best.duck = Math.min(
      best.duck,
      await timed(() =>
        connection.run(`COPY (SELECT * FROM transactions) TO '${join(dir, 'duck.parquet')}' (FORMAT parquet, COMPRESSION snappy)`),
      ),
    );
    best.parallel = Math.min(
      best.parallel,
      await timed(() =>
        Promise.all([
          pool.write(join(dir, 'part-0.parquet'), transactionSchema, batches.slice(0, half)),
          pool.write(join(dir, 'part-1.parquet'), transactionSchema, batches.slice(half)),
        ]),
      ),
    );
    best.none = Math.min(
      best.none,
      await timed(() => writeParquet(join(dir, 'none.parquet'), transactionSchema, batches, { compression: 'none' })),
    );
  }
  connection.closeSync();
  duck.closeSync();
  await pool.close();

  const duckRate = kRowsPerSecond(ROWS, best.duck);
  const line = (label: string, ms: number) =>
    `${label}: ${kRowsPerSecond(ROWS, ms)}k rows/s (duckdb COPY: ${duckRate}k rows/s, ratio ${(best.duck / ms).toFixed(2)})`;
  console.log(line('parquet write, one file, snappy', best.ours));
  console.log(line('parquet write, two files on 2 workers, snappy', best.parallel));
  console.log(line('parquet write, one file, uncompressed', best.none));
  console.log(`arrow IPC encoding on the calling thread: ${kRowsPerSecond(ROWS, ipcMs)}k rows/s (${Math.round(ipcMs)} ms)`);
  console.log(`peak RSS: ${mb(process.resourceUsage().maxRSS * 1024)} (the ${mb(arrowBytes)} of generated batches included)`);
} finally {
  await rm(dir, { recursive: true, force: true });
}

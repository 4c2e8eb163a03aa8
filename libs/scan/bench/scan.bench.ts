import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { decode } from '@chainlake/chain-evm';
import { SyntheticChain, syntheticOptionsFromEnv } from '@chainlake/chain-synthetic';
import { writeParquet } from '@chainlake/lake';
import { scanTable, type ScanFile, type ScanStats } from '../src/index.js';

// Filtered scans over synthetic transactions, next to DuckDB running the same query over the same files.
const FILES = 4;
const BLOCKS_PER_FILE = 2_500;
const ROW_GROUP_ROWS = 50_000;
const ROUNDS = 3;

interface Query {
  label: string;
  where: unknown;
  sql: string;
}

const COLUMNS = ['block_number', 'transaction_hash', 'value'];
const QUERIES: Query[] = [
  {
    label: 'value > 1 ether and success (every row group read)',
    where: { value: { gt: '1000000000000000000' }, success: { eq: true } },
    sql: `CAST(value AS HUGEINT) > 1000000000000000000 AND success`,
  },
  {
    label: 'block_number in a 10% range (row groups pruned)',
    where: { block_number: { between: [4_000, 4_999] } },
    sql: `block_number BETWEEN 4000 AND 4999`,
  },
];

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; result: T }> {
  const start = performance.now();
  const result = await fn();
  return { ms: performance.now() - start, result };
}

const dir = await mkdtemp(join(tmpdir(), 'scan-bench-'));
try {
  const chain = new SyntheticChain(syntheticOptionsFromEnv({}));
  const files: ScanFile[] = [];
  let totalRows = 0;
  let schema;
  const start = performance.now();
  for (let f = 0; f < FILES; f++) {
    const from = f * BLOCKS_PER_FILE;
    const { transactions } = decode(chain.rawSegment(from, from + BLOCKS_PER_FILE - 1), 1337);
    schema = transactions.schema;
    const path = join(dir, `transactions_${f}.parquet`);
    await writeParquet(path, transactions.schema, transactions.batches, { rowGroupRows: ROW_GROUP_ROWS });
    files.push({ path, recordCount: transactions.numRows });
    totalRows += transactions.numRows;
  }
  console.log(`wrote ${totalRows} transaction rows in ${FILES} files (row groups of ${ROW_GROUP_ROWS}) in ${Math.round(performance.now() - start)} ms`);

  const duck = await DuckDBInstance.create(':memory:', { threads: '2' });
  const connection = await duck.connect();
  const fileList = `[${files.map((f) => `'${f.path}'`).join(', ')}]`;

  for (const query of QUERIES) {
    let ours = Infinity;
    let theirs = Infinity;
    let rows = 0;
    let duckRows = 0;
    let stats: ScanStats | undefined;
    for (let round = 0; round < ROUNDS; round++) {
      const scan = scanTable({ schema: schema!, files, columns: COLUMNS, where: query.where });
      const run = await timed(async () => {
        let n = 0;
        for await (const batch of scan.batches) n += batch.numRows;
        return n;
      });
      ours = Math.min(ours, run.ms);
      rows = run.result;
      stats = scan.stats;
      const duckRun = await timed(async () => (await connection.runAndReadAll(`SELECT ${COLUMNS.join(', ')} FROM read_parquet(${fileList}) WHERE ${query.sql}`)).currentRowCount);
      theirs = Math.min(theirs, duckRun.ms);
      duckRows = duckRun.result;
    }
    if (rows !== duckRows) throw new Error(`${query.label}: scan returned ${rows} rows, DuckDB ${duckRows}`);
    const rate = (ms: number) => `${Math.round(totalRows / ms)}k rows/s`;
    console.log(
      `${query.label}: ${rate(ours)} scanned (${Math.round(ours)} ms, ${rows} rows out, ` +
        `${stats!.rowGroupsScanned} row groups read, ${stats!.rowGroupsPruned} pruned); ` +
        `duckdb (2 threads): ${rate(theirs)} (${Math.round(theirs)} ms), ratio ${(theirs / ours).toFixed(2)}`,
    );
  }
  connection.closeSync();
  duck.closeSync();
  console.log(`peak RSS: ${Math.round((process.resourceUsage().maxRSS * 1024) / 1e6)} MB`);
} finally {
  await rm(dir, { recursive: true, force: true });
}

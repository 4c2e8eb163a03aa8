import { ParquetWriterPool } from '../src/index.ts';
import { transactionBatches, transactionSchema } from '../test/fixtures/transactions.ts';
const N = 1_000_000; const FILES = Number(process.env.FILES ?? 2); const W = Number(process.env.W ?? 2);
const batches = [...transactionBatches({ rows: N })];
const pool = new ParquetWriterPool({ workers: W });
// warm up workers
await Promise.all(Array.from({ length: W }, (_, i) => pool.write(`/tmp/warm${i}.parquet`, transactionSchema, batches.slice(0, 1))));
const per = Math.ceil(batches.length / FILES);
for (let r = 0; r < 2; r++) {
  const t = performance.now();
  await Promise.all(Array.from({ length: FILES }, (_, i) => pool.write(`/tmp/p${i}.parquet`, transactionSchema, batches.slice(i * per, (i + 1) * per))));
  const ms = performance.now() - t;
  console.log(`files=${FILES} workers=${W}: ${ms.toFixed(0)}ms ${(N / ms).toFixed(0)}k rows/s rss ${(process.memoryUsage().rss / 1e6).toFixed(0)}MB`);
}
await pool.close();

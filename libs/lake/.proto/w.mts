import { writeParquet, readParquet, parquetRowCount } from '../src/index.ts';
import { transactionBatches, transactionSchema } from '../test/fixtures/transactions.ts';
const N = Number(process.env.N ?? 1_000_000);
const batches = [...transactionBatches({ rows: N })];
const rss0 = process.memoryUsage().rss;
let t = performance.now();
const f = await writeParquet('/tmp/w.parquet', transactionSchema, batches);
let ms = performance.now() - t;
console.log(f, `${ms.toFixed(0)}ms ${(N / ms).toFixed(0)}k rows/s rss +${((process.memoryUsage().rss - rss0) / 1e6).toFixed(0)}MB`);
console.log(await parquetRowCount('/tmp/w.parquet'));
t = performance.now(); let rows = 0, nb = 0;
for await (const b of readParquet('/tmp/w.parquet')) { rows += b.numRows; nb++; }
console.log('read', rows, nb, `${(performance.now() - t).toFixed(0)}ms`);

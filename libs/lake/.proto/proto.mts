import * as parquet from 'parquet-wasm';
import { RecordBatchStreamWriter, Table, tableToIPC } from 'apache-arrow';
import { transactionBatches } from '../test/fixtures/transactions.ts';
import { open } from 'node:fs/promises';

const batches = [...transactionBatches({ rows: 1_000_000, batchRows: Number(process.env.BATCH ?? 65536) })];
const codec = parquet.Compression[(process.env.CODEC ?? 'SNAPPY') as 'SNAPPY'];
let t = performance.now();
const ipcs = batches.map((b) => tableToIPC(new Table([b]), 'stream'));
const tIpc = performance.now() - t;
t = performance.now();
const wasmBatches = ipcs.flatMap((ipc) => parquet.Table.fromIPCStream(ipc).recordBatches());
const tFrom = performance.now() - t;
console.log(`ipc encode ${tIpc.toFixed(0)}ms, fromIPC ${tFrom.toFixed(0)}ms, wasm mem ${(parquet.wasmMemory().buffer.byteLength/1e6).toFixed(0)}MB`);
function props() {
  return new parquet.WriterPropertiesBuilder()
    .setCompression(codec)
    .setStatisticsEnabled(Number(process.env.STATS ?? parquet.EnabledStatistics.Chunk))
    .setDictionaryEnabled(process.env.DICT !== '0')
    .setMaxRowGroupSize(122880)
    .setCreatedBy('chainlake')
    .build();
}
t = performance.now();
let i = 0;
const input = new ReadableStream({ pull(c) { if (i < wasmBatches.length) c.enqueue(wasmBatches[i++]); else c.close(); } }, { highWaterMark: 0 });
const out = await parquet.transformParquetStream(input, props());
const fh = await open('/tmp/proto.parquet', 'w');
let bytes = 0, chunks = 0;
for await (const chunk of out as any) { bytes += chunk.byteLength; chunks++; await fh.write(chunk); }
await fh.close();
const tW = performance.now() - t;
console.log(`transform write ${tW.toFixed(0)}ms -> ${(1e6 / tW * 1000 / 1000).toFixed(0)}k rows/s ${bytes} bytes ${chunks} chunks; total incl ipc ${(1e9/(tW+tIpc+tFrom)).toFixed(0)}k rows/s; rss ${(process.memoryUsage().rss/1e6).toFixed(0)}MB wasm ${(parquet.wasmMemory().buffer.byteLength/1e6).toFixed(0)}MB`);

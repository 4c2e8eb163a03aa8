/**
 * The Parquet writer worker, kept as plain JavaScript source and started with `eval: true`:
 * services are bundled into one file by esbuild, which would not carry a separate worker module
 * along, and a TypeScript worker would need a loader in every runtime (tsx, vitest, bundle).
 * It needs nothing but Node built-ins and parquet-wasm, whose resolved path it receives.
 *
 * Protocol (one worker serves several writes at once, keyed by id):
 *   → {op:'open', id, path, schemaIpc, sampleIpc?, options:{compression, rowGroupRows, minSavingPercent, plainColumns, deltaColumns}}
 *     sampleIpc: the file's first rows, written first to find the columns compression does not pay for
 *   → {op:'batch', id, ipc}   an Arrow IPC stream of one or more record batches; acked once the writer took them,
 *                              handing the buffer under ipc back for the next batch
 *   → {op:'end', id} | {op:'abort', id}
 *   ← {op:'ack', id, buffer} | {op:'done', id, rows, bytes, sha256} | {op:'error', id, message}
 */
export const parquetWorkerSource = String.raw`
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const fs = require('node:fs/promises');
const path = require('node:path');
const parquet = require(workerData.parquetWasmPath);

const writes = new Map();

function writerProperties(options, uncompressedColumns, dictionary = true) {
  let builder = new parquet.WriterPropertiesBuilder()
    .setCompression(options.compression)
    .setMaxRowGroupSize(options.rowGroupRows)
    .setStatisticsEnabled(parquet.EnabledStatistics.Chunk)
    .setDictionaryEnabled(dictionary)
    .setCreatedBy('chainlake');
  for (const column of options.plainColumns) builder = builder.setColumnDictionaryEnabled(column, false);
  for (const column of options.deltaColumns) {
    builder = builder.setColumnDictionaryEnabled(column, false).setColumnEncoding(column, parquet.Encoding.DELTA_BINARY_PACKED);
  }
  for (const column of uncompressedColumns) builder = builder.setColumnCompression(column, parquet.Compression.UNCOMPRESSED);
  return builder.build();
}

// Top-level columns whose values the codec shrinks by less than minSavingPercent in the sample
// (nested ones cannot be named to the writer and stay compressed). The sample is written without
// dictionaries: in a whole file a column of many distinct values outgrows its dictionary and is
// written plain, and a sample too small for that would hide what plain pages compress to.
async function uncompressedColumns(write) {
  if (!write.sampleIpc) return [];
  const bytes = parquet.writeParquet(parquet.Table.fromIPCStream(write.sampleIpc), writerProperties(write.options, [], false));
  const file = await parquet.ParquetFile.fromFile(new Blob([bytes]));
  try {
    const keep = 1 - write.options.minSavingPercent / 100;
    return file.metadata().rowGroup(0).columns()
      .filter((column) => column.columnPath().length === 1 && column.compressedSize() > keep * column.uncompressedSize())
      .map((column) => column.columnPath()[0]);
  } finally {
    file.free();
  }
}

function message(error) {
  return error instanceof Error ? error.message : String(error);
}

class Inbox {
  constructor() { this.items = []; this.waiter = null; }
  push(item) {
    if (this.waiter) { const resolve = this.waiter; this.waiter = null; resolve(item); }
    else this.items.push(item);
  }
  next() {
    return this.items.length > 0 ? Promise.resolve(this.items.shift()) : new Promise((resolve) => { this.waiter = resolve; });
  }
}

// A failure here must fail the write even if the Parquet stream were to end quietly on it.
async function* wasmBatches(write) {
  try {
    for (;;) {
      const item = await write.inbox.next();
      if (item.op === 'end') return;
      if (item.op === 'abort') throw new Error('write aborted by the caller');
      const table = parquet.Table.fromIPCStream(item.ipc);
      const batches = table.recordBatches();
      table.free();
      parentPort.postMessage({ op: 'ack', id: write.id, buffer: item.ipc.buffer }, [item.ipc.buffer]);
      for (const batch of batches) {
        write.rows += batch.numRows;
        yield batch;
      }
    }
  } catch (error) {
    write.failure = error;
    throw error;
  }
}

async function* prepend(first, rest) {
  yield first;
  yield* rest;
}

async function run(write) {
  const hash = createHash('sha256');
  let bytes = 0;
  let file;
  try {
    await fs.mkdir(path.dirname(write.path), { recursive: true });
    const properties = writerProperties(write.options, await uncompressedColumns(write));
    file = await fs.open(write.path, 'w');
    const batches = wasmBatches(write);
    const first = await batches.next();
    let output;
    if (first.done) {
      // No rows: transformParquetStream takes its schema from the first batch, so write the empty table in one go.
      output = [parquet.writeParquet(parquet.Table.fromIPCStream(write.schemaIpc), properties)];
    } else {
      output = await parquet.transformParquetStream(ReadableStream.from(prepend(first.value, batches)), properties);
    }
    for await (const chunk of output) {
      hash.update(chunk);
      bytes += chunk.byteLength;
      await file.write(chunk);
    }
    if (write.failure) throw write.failure;
    await file.close();
    parentPort.postMessage({ op: 'done', id: write.id, rows: write.rows, bytes, sha256: hash.digest('hex') });
  } catch (error) {
    if (file) {
      await file.close().catch(() => {});
      await fs.rm(write.path, { force: true }).catch(() => {});
    }
    parentPort.postMessage({ op: 'error', id: write.id, message: message(error) });
  } finally {
    writes.delete(write.id);
  }
}

parentPort.on('message', (msg) => {
  if (msg.op === 'open') {
    const write = { id: msg.id, path: msg.path, schemaIpc: msg.schemaIpc, sampleIpc: msg.sampleIpc, options: msg.options, inbox: new Inbox(), rows: 0 };
    writes.set(msg.id, write);
    run(write);
    return;
  }
  const write = writes.get(msg.id);
  if (write) write.inbox.push(msg);
});
`;

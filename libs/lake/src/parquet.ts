import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { openAsBlob } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { Worker } from 'node:worker_threads';
import * as parquet from 'parquet-wasm';
import { DataType, RecordBatch, RecordBatchReader, Schema, Table, tableToIPC, util, type Data } from 'apache-arrow';
import { ipcStreamInto, TransferBuffers } from './ipc-transfer.js';
import { parquetWorkerSource } from './parquet-worker-source.js';

export type ParquetCompression = 'snappy' | 'zstd' | 'gzip' | 'lz4' | 'none';

export interface ParquetWriteOptions {
  /** Default snappy. */
  compression?: ParquetCompression;
  /** Rows per row group, default 122_880. */
  rowGroupRows?: number;
  /**
   * A column is compressed only where the codec saves at least this many percent of its bytes on
   * a sample of the file's first rows; the others are stored uncompressed. Default 20; 0
   * compresses every column.
   */
  minSavingPercent?: number;
}

export interface WrittenFile {
  path: string;
  rows: number;
  bytes: number;
  sha256: string;
}

export const DEFAULT_ROW_GROUP_ROWS = 122_880;
const DEFAULT_MIN_SAVING_PERCENT = 20;

const CODECS: Record<ParquetCompression, parquet.Compression> = {
  snappy: parquet.Compression.SNAPPY,
  zstd: parquet.Compression.ZSTD,
  gzip: parquet.Compression.GZIP,
  lz4: parquet.Compression.LZ4_RAW,
  none: parquet.Compression.UNCOMPRESSED,
};

/** Record batches a write may have sent to its worker and not yet seen taken by the Parquet writer. */
const BATCHES_IN_FLIGHT = 2;
/** Batches are sent to workers in groups (or slices) of at most this many rows, which bounds the copies in flight. */
const IPC_ROWS = 16_384;

interface WorkerOptions {
  compression: parquet.Compression;
  rowGroupRows: number;
  minSavingPercent: number;
}

const DICTIONARY_SAMPLE_ROWS = 4_096;
/**
 * Rows the worker writes, plain, with the file's codec to see what it saves per column. Hex
 * hashes and random calldata save 6–9% with snappy, yet compressing them was ~half the codec's
 * time; topics, amounts and gas save 25–45%.
 */
const COMPRESSION_SAMPLE_ROWS = 2_048;
const MIN_SAMPLE_ROWS = 64;
/**
 * Below this share of values (by size) that repeat an earlier value of the sample, a column is
 * written without dictionary encoding.
 */
const DICTIONARY_MIN_REPEAT_SHARE = 0.1;

/** What the worker is told about encodings, decided on a file's first rows. */
interface ColumnEncodings {
  /** Written without dictionary encoding. */
  plainColumns: string[];
  /** Written as DELTA_BINARY_PACKED, without dictionary encoding. */
  deltaColumns: string[];
}

/**
 * Integer and timestamp columns are written DELTA_BINARY_PACKED: on the synthetic chain's block
 * numbers, indexes, nonces and gas it was 2–5× faster for the wasm writer than dictionary
 * encoding and as small or smaller (sorted and small-range values pack into a few bits; the
 * codec shrinks what is left), so dictionary encoding is never tried on them.
 *
 * Other columns keep dictionary encoding only where it pays: where enough sampled values repeat
 * an earlier one (by size, so that calldata that is often just '0x' still counts as distinct).
 * In a compressed file only repeats that are not right after an equal value count: the codec
 * shrinks those from plain pages as well — a log's transaction hash, repeated for each of its
 * logs, came out 6% larger plain, at a third less of the writer's time. Addresses and event
 * signatures keep it; hashes, calldata and amounts do not. Arrow dictionary, boolean and nested
 * columns are left to the writer's defaults.
 */
function columnEncodings(batch: RecordBatch, compressed: boolean): ColumnEncodings {
  const rows = Math.min(batch.numRows, DICTIONARY_SAMPLE_ROWS);
  const encodings: ColumnEncodings = { plainColumns: [], deltaColumns: [] };
  for (const [i, field] of batch.schema.fields.entries()) {
    if (DataType.isInt(field.type) || DataType.isTimestamp(field.type)) {
      encodings.deltaColumns.push(field.name);
      continue;
    }
    if (DataType.isDictionary(field.type) || DataType.isBool(field.type) || rows < MIN_SAMPLE_ROWS) continue;
    const sample = repetition(batch.data.children[i], rows);
    if (!sample) continue;
    const repeats = (compressed ? sample.runs : 1) - sample.distinct;
    if (repeats < DICTIONARY_MIN_REPEAT_SHARE) encodings.plainColumns.push(field.name);
  }
  return encodings;
}

/**
 * The sampled values' hashes, by open addressing (0: an empty slot, so a hash of 0 is stored as 1):
 * a Set of numbers was most of the sampling's time.
 */
const SEEN_SLOTS = 2 * DICTIONARY_SAMPLE_ROWS;
const seenHashes = new Uint32Array(SEEN_SLOTS);

/**
 * Shares of distinct values and of runs of equal values among the first `rows` non-null values,
 * weighted by size (bytes + 1 for variable-width values, 1 for fixed-width ones), from the
 * column's buffers: values are compared by a 32-bit hash of their bytes, so no JS value is made
 * per row. Null for nested columns.
 */
function repetition(data: Data, rows: number): { distinct: number; runs: number } | null {
  const values = data.values as ArrayBufferView | undefined;
  if (!values || data.children.length > 0) return null;
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  // Arrow JS slices fixed-width values and offsets to the chunk: row i is element i.
  const offsets = data.valueOffsets as Int32Array | undefined;
  const width = offsets ? 0 : (values as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT * data.stride;
  seenHashes.fill(0);
  let total = 0;
  let distinct = 0;
  let runs = 0;
  let previous = 0;
  for (let row = 0; row < rows; row++) {
    if (data.nullCount > 0 && !data.getValid(row)) continue;
    const start = offsets ? offsets[row] : row * width;
    const end = offsets ? offsets[row + 1] : start + width;
    // FNV-style over 32-bit words, then the last bytes: each step waits on the previous multiply,
    // and one per byte had this sampling at ~9% of the archiver's main thread. A value longer
    // than 16 bytes is hashed by its first and last 8 bytes and its length, which tells hashes,
    // addresses and calldata apart; values differing only in between would count as repeats,
    // which keeps dictionary encoding on (slower to write, never wrong).
    let hash = 0x811c9dc5;
    const head = end - start > 16 ? start + 8 : end;
    let p = start;
    for (; p + 4 <= head; p += 4) hash = Math.imul(hash ^ (bytes[p] | (bytes[p + 1] << 8) | (bytes[p + 2] << 16) | (bytes[p + 3] << 24)), 0x01000193);
    for (; p < head; p++) hash = Math.imul(hash ^ bytes[p], 0x01000193);
    for (p = head < end ? end - 8 : end; p < end; p += 4) {
      hash = Math.imul(hash ^ (bytes[p] | (bytes[p + 1] << 8) | (bytes[p + 2] << 16) | (bytes[p + 3] << 24)), 0x01000193);
    }
    hash = Math.imul(hash ^ (end - start), 0x01000193) >>> 0;
    const size = offsets ? end - start + 1 : 1;
    total += size;
    const key = hash || 1;
    if (key !== previous) runs += size;
    previous = key;
    let slot = key & (SEEN_SLOTS - 1);
    while (seenHashes[slot] !== 0 && seenHashes[slot] !== key) slot = (slot + 1) & (SEEN_SLOTS - 1);
    if (seenHashes[slot] === 0) {
      seenHashes[slot] = key;
      distinct += size;
    }
  }
  return total > 0 ? { distinct: distinct / total, runs: runs / total } : null;
}

function workerOptions(options: ParquetWriteOptions): WorkerOptions {
  const compression = options.compression ?? 'snappy';
  if (!Object.hasOwn(CODECS, compression)) {
    throw new Error(`unknown Parquet compression '${String(compression)}': expected one of ${Object.keys(CODECS).join(', ')}`);
  }
  const rowGroupRows = options.rowGroupRows ?? DEFAULT_ROW_GROUP_ROWS;
  if (!Number.isSafeInteger(rowGroupRows) || rowGroupRows < 1) {
    throw new Error(`rowGroupRows must be a positive integer, got ${String(rowGroupRows)}`);
  }
  const minSavingPercent = options.minSavingPercent ?? DEFAULT_MIN_SAVING_PERCENT;
  if (!Number.isFinite(minSavingPercent) || minSavingPercent < 0 || minSavingPercent > 100) {
    throw new Error(`minSavingPercent must be between 0 and 100, got ${String(minSavingPercent)}`);
  }
  return { compression: CODECS[compression], rowGroupRows, minSavingPercent };
}

/** The first rows of a file, as IPC, for the worker to measure what compression saves; none when it would not be asked. */
function compressionSample(settings: WorkerOptions, batch: RecordBatch): Uint8Array<ArrayBuffer> | undefined {
  if (settings.minSavingPercent === 0 || settings.compression === parquet.Compression.UNCOMPRESSED) return undefined;
  if (batch.numRows < MIN_SAMPLE_ROWS) return undefined;
  // A buffer of its own: the worker keeps it.
  return ipcStreamInto([batch.numRows > COMPRESSION_SAMPLE_ROWS ? batch.slice(0, COMPRESSION_SAMPLE_ROWS) : batch], (bytes) => new ArrayBuffer(bytes));
}

function checkBatchSchema(path: string, schema: Schema, batch: RecordBatch): void {
  const matches: boolean = util.compareSchemas(schema, batch.schema);
  if (matches) return;
  const problem =
    batch.schema.fields.length !== schema.fields.length
      ? `it has ${batch.schema.fields.length} columns, the file ${schema.fields.length}`
      : (() => {
          const i = schema.fields.findIndex((field, j) => !util.compareFields(field, batch.schema.fields[j]));
          return `column ${i} is ${describeField(batch.schema.fields[i])}, the file's is ${describeField(schema.fields[i])}`;
        })();
  throw new Error(`writing Parquet file ${path}: a record batch does not match the file's schema: ${problem}`);
}

function describeField(field: Schema['fields'][number]): string {
  return `'${field.name}' ${String(field.type)}${field.nullable ? ' (nullable)' : ''}`;
}

type WorkerReply =
  | { op: 'ack'; id: number; buffer: ArrayBuffer }
  | { op: 'done'; id: number; rows: number; bytes: number; sha256: string }
  | { op: 'error'; id: number; message: string };

interface Job {
  inFlight: number;
  failure?: Error;
  wakeSender?: () => void;
  resolve: (file: Omit<WrittenFile, 'path'>) => void;
  reject: (error: Error) => void;
}

class PoolWorker {
  readonly jobs = new Map<number, Job>();
  private readonly worker: Worker;

  constructor(
    private readonly buffers: TransferBuffers,
    onExit: (worker: PoolWorker) => void,
  ) {
    this.worker = new Worker(parquetWorkerSource, {
      eval: true,
      workerData: { parquetWasmPath: createRequire(import.meta.url).resolve('parquet-wasm') },
    });
    this.worker.unref();
    this.worker.on('message', (reply: WorkerReply) => this.onReply(reply));
    const fail = (error: Error) => {
      for (const job of this.jobs.values()) this.failJob(job, error);
      this.jobs.clear();
      onExit(this);
    };
    this.worker.on('error', (error) => fail(new Error(`Parquet writer worker failed: ${error.message}`)));
    this.worker.on('exit', (code) => fail(new Error(`Parquet writer worker exited with code ${code}`)));
  }

  post(message: unknown, transfer: ArrayBuffer[] = []): void {
    this.worker.postMessage(message, transfer);
  }

  start(id: number): { job: Job; done: Promise<Omit<WrittenFile, 'path'>> } {
    let job!: Job;
    const done = new Promise<Omit<WrittenFile, 'path'>>((resolve, reject) => {
      job = { inFlight: 0, resolve, reject };
    });
    done.catch(() => {}); // observed by write(); avoids an unhandled rejection while it is still sending
    this.jobs.set(id, job);
    if (this.jobs.size === 1) this.worker.ref();
    return { job, done };
  }

  terminate(): Promise<number> {
    return this.worker.terminate();
  }

  /** Drops a job the worker never heard of. */
  forget(id: number): void {
    this.finish(id);
  }

  private finish(id: number): void {
    this.jobs.delete(id);
    if (this.jobs.size === 0) this.worker.unref();
  }

  private failJob(job: Job, error: Error): void {
    job.failure = error;
    job.wakeSender?.();
    job.reject(error);
  }

  private onReply(reply: WorkerReply): void {
    const job = this.jobs.get(reply.id);
    if (!job) return;
    if (reply.op === 'ack') {
      this.buffers.give(reply.buffer);
      job.inFlight--;
      job.wakeSender?.();
    } else if (reply.op === 'done') {
      this.finish(reply.id);
      job.resolve({ rows: reply.rows, bytes: reply.bytes, sha256: reply.sha256 });
    } else {
      this.finish(reply.id);
      this.failJob(job, new Error(reply.message));
    }
  }
}

/**
 * Writes Parquet files on worker threads, several files at once when called concurrently: each
 * write goes to the least busy worker. The calling thread only encodes batches as Arrow IPC and
 * stays free for other work. Workers are started on demand and do not keep the process alive
 * while idle.
 */
export class ParquetWriterPool {
  readonly size: number;
  private readonly workers: PoolWorker[] = [];
  private readonly buffers = new TransferBuffers();
  private nextId = 1;
  private closed = false;

  constructor(options: { workers?: number } = {}) {
    const size = options.workers ?? Math.min(2, availableParallelism());
    if (!Number.isSafeInteger(size) || size < 1) throw new Error(`workers must be a positive integer, got ${String(size)}`);
    this.size = size;
  }

  async write(
    path: string,
    schema: Schema,
    batches: AsyncIterable<RecordBatch> | Iterable<RecordBatch>,
    options: ParquetWriteOptions = {},
  ): Promise<WrittenFile> {
    if (this.closed) throw new Error('the Parquet writer pool is closed');
    const settings = workerOptions(options);
    const absolutePath = resolvePath(path);
    const worker = this.pickWorker();
    const id = this.nextId++;
    const { job, done } = worker.start(id);
    let opened = false;
    // Opened on the first rows, whose values decide which columns get dictionary encoding.
    const open = (sample?: RecordBatch) => {
      const compressed = settings.compression !== parquet.Compression.UNCOMPRESSED;
      const encodings = sample ? columnEncodings(sample, compressed) : { plainColumns: [], deltaColumns: [] };
      const sampleIpc = sample ? compressionSample(settings, sample) : undefined;
      const schemaIpc = tableToIPC(new Table(schema), 'stream');
      const message = { op: 'open', id, path: absolutePath, schemaIpc, sampleIpc, options: { ...settings, ...encodings } };
      worker.post(message, sampleIpc ? [sampleIpc.buffer] : []);
      opened = true;
    };
    // Batches go to the worker in groups of up to IPC_ROWS rows, one IPC stream each: the
    // schema message that starts every stream is encoded once per group, not once per batch.
    let group: RecordBatch[] = [];
    let groupRows = 0;
    const sendGroup = async () => {
      while (job.inFlight >= BATCHES_IN_FLIGHT && !job.failure) {
        await new Promise<void>((resolve) => (job.wakeSender = resolve));
        job.wakeSender = undefined;
      }
      if (job.failure) return;
      const ipc = ipcStreamInto(group, (bytes) => this.buffers.take(bytes));
      group = [];
      groupRows = 0;
      job.inFlight++;
      worker.post({ op: 'batch', id, ipc }, [ipc.buffer]);
    };
    try {
      for await (const batch of batches) {
        checkBatchSchema(path, schema, batch);
        if (job.failure) break;
        if (!opened && batch.numRows > 0) open(batch);
        for (let offset = 0; offset < batch.numRows && !job.failure; offset += IPC_ROWS) {
          const piece = offset === 0 && batch.numRows <= IPC_ROWS ? batch : batch.slice(offset, offset + IPC_ROWS);
          if (groupRows > 0 && groupRows + piece.numRows > IPC_ROWS) await sendGroup();
          group.push(piece);
          groupRows += piece.numRows;
        }
      }
      if (groupRows > 0 && !job.failure) await sendGroup();
      if (!opened) open();
      worker.post({ op: 'end', id });
    } catch (error) {
      if (opened) {
        worker.post({ op: 'abort', id });
        await done.catch(() => {});
      } else {
        worker.forget(id);
      }
      throw error;
    }
    try {
      return { path: absolutePath, ...(await done) };
    } catch (error) {
      throw new Error(`writing Parquet file ${path}: ${(error as Error).message}`);
    }
  }

  /** Stops the workers; writes still running fail. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.workers.splice(0).map((worker) => worker.terminate()));
  }

  private pickWorker(): PoolWorker {
    const idle = this.workers.find((worker) => worker.jobs.size === 0);
    if (idle) return idle;
    if (this.workers.length < this.size) {
      const worker = new PoolWorker(this.buffers, (gone) => {
        const i = this.workers.indexOf(gone);
        if (i >= 0) this.workers.splice(i, 1);
      });
      this.workers.push(worker);
      return worker;
    }
    return this.workers.reduce((least, worker) => (worker.jobs.size < least.jobs.size ? worker : least));
  }
}

let sharedPool: ParquetWriterPool | undefined;

/**
 * Streams batches into one Parquet file at `path`, row group by row group; memory stays bounded by
 * about one row group whatever the file size. Column statistics on, dictionary encoding on.
 * Creates the parent directory; on failure no file is left at `path`.
 * Runs on a shared worker pool (see ParquetWriterPool), so concurrent calls write in parallel.
 */
export function writeParquet(
  path: string,
  schema: Schema,
  batches: AsyncIterable<RecordBatch> | Iterable<RecordBatch>,
  options: ParquetWriteOptions = {},
): Promise<WrittenFile> {
  sharedPool ??= new ParquetWriterPool();
  return sharedPool.write(path, schema, batches, options);
}

async function openParquetFile(path: string): Promise<parquet.ParquetFile> {
  try {
    return await parquet.ParquetFile.fromFile(await openAsBlob(path));
  } catch (error) {
    throw new Error(`cannot read Parquet file ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Streams a Parquet file back as Arrow record batches (one or more per row group), bounded memory. */
export async function* readParquet(path: string, options: { columns?: string[]; batchRows?: number } = {}): AsyncIterable<RecordBatch> {
  const file = await openParquetFile(path);
  try {
    const stream = await file.stream({ columns: options.columns, batchSize: options.batchRows ?? 65_536 });
    for await (const wasmBatch of stream as AsyncIterable<parquet.RecordBatch>) {
      yield* RecordBatchReader.from(wasmBatch.intoIPCStream());
    }
  } catch (error) {
    throw new Error(`reading Parquet file ${path}: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    file.free();
  }
}

export async function parquetRowCount(path: string): Promise<number> {
  const file = await openParquetFile(path);
  try {
    return file.metadata().fileMetadata().numRows();
  } finally {
    file.free();
  }
}

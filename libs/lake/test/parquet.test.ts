import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { join } from 'node:path';
import { readdir, stat, writeFile } from 'node:fs/promises';
import {
  Bool,
  Dictionary,
  Field,
  Int32,
  Int64,
  RecordBatch,
  Schema,
  Struct,
  TimeUnit,
  Timestamp,
  Utf8,
  makeData,
  vectorFromArray,
  type Data,
} from 'apache-arrow';
import { tempDir } from '@chainlake/testkit';
import {
  ParquetWriterPool,
  parquetRowCount,
  readParquet,
  sha256File,
  writeParquet,
  type ParquetCompression,
} from '../src/index.js';
import { duckdbQuery } from './duckdb.js';
import { transactionBatches, transactionSchema } from './fixtures/transactions.js';

const schema = new Schema([
  new Field('block_number', new Int64(), false),
  new Field('log_index', new Int32(), true),
  new Field('address', new Utf8(), true),
  new Field('topic0', new Dictionary(new Utf8(), new Int32()), true),
  new Field('removed', new Bool(), true),
  new Field('block_timestamp', new Timestamp(TimeUnit.MICROSECOND, 'UTC'), false),
]);

interface Row {
  block_number: bigint;
  log_index: number | null;
  address: string | null;
  topic0: string | null;
  removed: boolean | null;
  block_timestamp: bigint; // µs since the epoch
}

const BASE_MICROS = 1_733_011_200_000_000n; // 2024-12-01T00:00:00Z
const TOPICS = ['0xddf252ad', '0x8c5be1e5', '0xe1fffcc4'];

function rowsFor(start: number, count: number): Row[] {
  return Array.from({ length: count }, (_, k) => {
    const i = start + k;
    return {
      block_number: BigInt(100 + Math.floor(i / 3)),
      log_index: i % 7 === 0 ? null : i % 3,
      address: i % 5 === 0 ? null : `0x${i.toString(16).padStart(40, '0')}`,
      topic0: i % 11 === 0 ? null : TOPICS[i % 3],
      removed: i % 13 === 0 ? null : i % 2 === 0,
      block_timestamp: BASE_MICROS + BigInt(i) * 1_000_001n,
    };
  });
}

function batchOf(rows: Row[]): RecordBatch {
  const validity = (present: (r: Row) => boolean) => vectorFromArray(rows.map(present), new Bool()).data[0].values;
  const children: Data[] = [
    makeData({ type: new Int64(), length: rows.length, data: BigInt64Array.from(rows, (r) => r.block_number) }),
    vectorFromArray(rows.map((r) => r.log_index), new Int32()).data[0],
    vectorFromArray(rows.map((r) => r.address), new Utf8()).data[0],
    makeData({
      type: schema.fields[3].type as Dictionary<Utf8, Int32>,
      length: rows.length,
      nullCount: rows.filter((r) => r.topic0 === null).length,
      nullBitmap: validity((r) => r.topic0 !== null),
      data: Int32Array.from(rows, (r) => (r.topic0 === null ? 0 : TOPICS.indexOf(r.topic0))),
      dictionary: vectorFromArray(TOPICS, new Utf8()),
    }),
    vectorFromArray(rows.map((r) => r.removed), new Bool()).data[0],
    makeData({
      type: schema.fields[5].type as Timestamp,
      length: rows.length,
      data: BigInt64Array.from(rows, (r) => r.block_timestamp),
    }),
  ];
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: rows.length, nullCount: 0, children }));
}

function batchesFor(total: number, batchRows: number): RecordBatch[] {
  const batches: RecordBatch[] = [];
  for (let start = 0; start < total; start += batchRows) batches.push(batchOf(rowsFor(start, Math.min(batchRows, total - start))));
  return batches;
}

/** Rows of read-back batches, timestamps as raw µs so that no precision hides behind a conversion. */
function rowsOf(batches: RecordBatch[]): Row[] {
  const rows: Row[] = [];
  for (const batch of batches) {
    const timestamps = batch.getChild('block_timestamp')!;
    const micros: bigint[] = [];
    for (const data of timestamps.data) micros.push(...(data.values as BigInt64Array).subarray(data.offset, data.offset + data.length));
    for (let i = 0; i < batch.numRows; i++) {
      const row = batch.get(i)!.toJSON() as unknown as Row;
      rows.push({ ...row, block_timestamp: micros[i] });
    }
  }
  return rows;
}

async function readAll(path: string, columns?: string[]): Promise<RecordBatch[]> {
  const batches: RecordBatch[] = [];
  for await (const batch of readParquet(path, { columns })) batches.push(batch);
  return batches;
}

let dir: { path: string; remove: () => Promise<void> };
beforeAll(async () => {
  dir = await tempDir('lake-parquet');
});
afterAll(async () => {
  await dir.remove();
});

describe('writeParquet and readParquet', () => {
  it('round-trips every column type, nulls included, across several row groups', async () => {
    const path = join(dir.path, 'roundtrip.parquet');
    const expected = rowsFor(0, 2_500);
    const written = await writeParquet(path, schema, batchesFor(2_500, 700), { rowGroupRows: 1_000 });

    expect(written).toMatchObject({ path, rows: 2_500, bytes: (await stat(path)).size });
    expect(written.sha256).toBe(await sha256File(path));
    expect(await parquetRowCount(path)).toBe(2_500);
    const batches = await readAll(path);
    expect(batches[0].schema.fields.map((f) => [f.name, String(f.type)])).toEqual(schema.fields.map((f) => [f.name, String(f.type)]));
    expect(rowsOf(batches)).toEqual(expected);

    const [meta] = await duckdbQuery(`SELECT count(DISTINCT row_group_id) AS groups FROM parquet_metadata('${path}')`);
    expect(meta.groups).toBe('3');
  });

  it.each<ParquetCompression>(['snappy', 'zstd', 'gzip', 'lz4', 'none'])('round-trips with %s compression, as DuckDB sees it too', async (codec) => {
    const path = join(dir.path, `codec-${codec}.parquet`);
    await writeParquet(path, schema, batchesFor(1_200, 500), { compression: codec, rowGroupRows: 600, minSavingPercent: 0 });
    expect(rowsOf(await readAll(path))).toEqual(rowsFor(0, 1_200));
    const codecs = await duckdbQuery(`SELECT DISTINCT compression FROM parquet_metadata('${path}')`);
    const expectedCodec = { snappy: 'SNAPPY', zstd: 'ZSTD', gzip: 'GZIP', lz4: 'LZ4_RAW', none: 'UNCOMPRESSED' }[codec];
    expect(codecs.map((r) => r.compression)).toEqual([expectedCodec]);
  });

  it('writes files that DuckDB reads with the same rows and values, statistics included', async () => {
    const tableDir = join(dir.path, 'duck', 'logs');
    const expected = rowsFor(0, 3_000);
    await writeParquet(join(tableDir, 'data', 'block_range=100-599', 'a.parquet'), schema, batchesFor(1_500, 400));
    await writeParquet(join(tableDir, 'data', 'block_range=600-1099', 'b.parquet'), schema, [batchOf(rowsFor(1_500, 1_500))]);

    const rows = await duckdbQuery(
      `SELECT block_number::VARCHAR AS block_number, log_index, address, topic0, removed,
              epoch_us(block_timestamp)::VARCHAR AS micros, typeof(block_timestamp) AS ts_type, block_range
       FROM read_parquet('${tableDir}/**/*.parquet', hive_partitioning = true)
       ORDER BY block_timestamp`,
    );
    expect(rows).toHaveLength(expected.length);
    rows.forEach((row, i) => {
      const e = expected[i];
      expect(row).toEqual({
        block_number: String(e.block_number),
        log_index: e.log_index,
        address: e.address,
        topic0: e.topic0,
        removed: e.removed,
        micros: String(e.block_timestamp),
        ts_type: 'TIMESTAMP WITH TIME ZONE',
        block_range: i < 1_500 ? '100-599' : '600-1099',
      });
    });
    const stats = await duckdbQuery(
      `SELECT stats_min_value AS min, stats_max_value AS max FROM parquet_metadata('${tableDir}/data/block_range=600-1099/b.parquet')
       WHERE path_in_schema = 'block_number'`,
    );
    expect(stats).toEqual([{ min: '600', max: '1099' }]);
  });

  it('writes integers delta-packed, nearly-distinct columns without dictionary encoding and repeating ones with it', async () => {
    const path = join(dir.path, 'encodings.parquet');
    const batches = [...transactionBatches({ rows: 20_000, batchRows: 3_000 })];
    await writeParquet(path, transactionSchema, batches);
    const chunks = await duckdbQuery(
      `SELECT path_in_schema AS name, encodings FROM parquet_metadata('${path}') WHERE row_group_id = 0 ORDER BY column_id`,
    );
    const encodings = Object.fromEntries(chunks.map((c) => [String(c.name), String(c.encodings)]));
    for (const column of ['block_number', 'transaction_index', 'gas', 'block_timestamp']) {
      expect(encodings[column]).toContain('DELTA_BINARY_PACKED');
      expect(encodings[column]).not.toContain('DICTIONARY');
    }
    for (const column of ['transaction_hash', 'value', 'input']) expect(encodings[column]).not.toContain('DICTIONARY');
    expect(encodings.from_address).toContain('DICTIONARY');
    const rows = await duckdbQuery(`SELECT count(*) AS n, sum(block_number) AS b, sum(gas) AS g FROM read_parquet('${path}')`);
    const expected = batches.reduce(
      (sum, batch) => {
        for (let i = 0; i < batch.numRows; i++) {
          sum.b += batch.getChild('block_number')!.get(i) as bigint;
          sum.g += batch.getChild('gas')!.get(i) as bigint;
        }
        return sum;
      },
      { b: 0n, g: 0n },
    );
    expect(rows).toEqual([expect.objectContaining({ n: '20000', b: String(expected.b), g: String(expected.g) })]);
  });

  it('leaves repeats next to each other to the codec, and to dictionary encoding when the file is not compressed', async () => {
    // Each value twice in a row, as a log's transaction hash is; nearly all distinct otherwise.
    const hashes = Array.from({ length: 8_000 }, (_, i) => `0x${(Math.floor(i / 2) * 2654435761 % 2 ** 32).toString(16).padStart(64, 'f')}`);
    const pairSchema = new Schema([new Field('transaction_hash', new Utf8(), false)]);
    const batch = new RecordBatch(pairSchema, makeData({
      type: new Struct(pairSchema.fields), length: hashes.length, children: [vectorFromArray(hashes, new Utf8()).data[0]],
    }));
    const dictionaryUsed = async (compression: ParquetCompression) => {
      const path = join(dir.path, `pairs-${compression}.parquet`);
      await writeParquet(path, pairSchema, [batch], { compression });
      const [chunk] = await duckdbQuery(`SELECT encodings, compression FROM parquet_metadata('${path}') WHERE row_group_id = 0`);
      expect(await duckdbQuery(`SELECT count(DISTINCT transaction_hash) AS n FROM read_parquet('${path}')`)).toEqual([{ n: '4000' }]);
      return { dictionary: String(chunk.encodings).includes('DICTIONARY'), codec: String(chunk.compression) };
    };
    expect(await dictionaryUsed('snappy')).toEqual({ dictionary: false, codec: 'SNAPPY' });
    expect(await dictionaryUsed('none')).toEqual({ dictionary: true, codec: 'UNCOMPRESSED' });
  });

  it('stores the columns compression does not shrink uncompressed and the others with the codec, unless told to compress all', async () => {
    const batches = [...transactionBatches({ rows: 20_000, batchRows: 3_000 })];
    const codecs = async (path: string) =>
      Object.fromEntries(
        (await duckdbQuery(`SELECT path_in_schema AS name, compression FROM parquet_metadata('${path}') WHERE row_group_id = 0`)).map(
          (c) => [String(c.name), String(c.compression)],
        ),
      );
    const content = (path: string) => duckdbQuery(`SELECT count(*) AS n, sum(hash(transaction_hash || input || value)) AS h FROM read_parquet('${path}')`);
    const adaptive = join(dir.path, 'adaptive.parquet');
    await writeParquet(adaptive, transactionSchema, batches);
    // Random 32-byte hashes save ~9% with snappy; calldata, amounts and block numbers far more.
    expect(await codecs(adaptive)).toMatchObject({ transaction_hash: 'UNCOMPRESSED', input: 'SNAPPY', value: 'SNAPPY', block_number: 'SNAPPY' });
    const compressed = join(dir.path, 'all-compressed.parquet');
    await writeParquet(compressed, transactionSchema, batches, { minSavingPercent: 0 });
    expect(new Set(Object.values(await codecs(compressed)))).toEqual(new Set(['SNAPPY']));
    expect(await content(adaptive)).toEqual(await content(compressed));
    const none = join(dir.path, 'uncompressed.parquet');
    await writeParquet(none, transactionSchema, batches, { compression: 'none', minSavingPercent: 100 });
    expect(new Set(Object.values(await codecs(none)))).toEqual(new Set(['UNCOMPRESSED']));
  });

  it('reads selected columns only', async () => {
    const path = join(dir.path, 'columns.parquet');
    await writeParquet(path, schema, batchesFor(300, 300));
    const batches = await readAll(path, ['address', 'block_number']);
    expect(batches[0].schema.fields.map((f) => f.name).sort()).toEqual(['address', 'block_number']);
    expect(batches.reduce((n, b) => n + b.numRows, 0)).toBe(300);
  });

  it('writes a valid empty file when there are no rows', async () => {
    const path = join(dir.path, 'empty.parquet');
    const written = await writeParquet(path, schema, (async function* () {})());
    expect(written.rows).toBe(0);
    expect(await parquetRowCount(path)).toBe(0);
    const [row] = await duckdbQuery(`SELECT count(*) AS n FROM read_parquet('${path}')`);
    expect(row.n).toBe('0');
  });

  it('rejects a batch of another schema, naming the column, and leaves no file behind', async () => {
    const path = join(dir.path, 'mismatch.parquet');
    const other = batchesFor(10, 10)[0].select(['block_number', 'address']);
    await expect(writeParquet(path, schema, [batchesFor(10, 10)[0], other])).rejects.toThrow(/does not match the file's schema: it has 2 columns/);
    await expect(stat(path)).rejects.toThrow(/ENOENT/);
  });

  it('fails with the source error when the batches fail, removing the partial file', async () => {
    const path = join(dir.path, 'failing.parquet');
    async function* failing() {
      yield batchOf(rowsFor(0, 100));
      throw new Error('upstream went away');
    }
    await expect(writeParquet(path, schema, failing())).rejects.toThrow('upstream went away');
    await expect(stat(path)).rejects.toThrow(/ENOENT/);
  });

  it('rejects bad options and unreadable files with clear messages', async () => {
    await expect(writeParquet(join(dir.path, 'x.parquet'), schema, [], { compression: 'brotli' as ParquetCompression })).rejects.toThrow(
      /unknown Parquet compression 'brotli'/,
    );
    await expect(writeParquet(join(dir.path, 'x.parquet'), schema, [], { rowGroupRows: 0 })).rejects.toThrow(/rowGroupRows/);
    await expect(writeParquet(join(dir.path, 'x.parquet'), schema, [], { minSavingPercent: 101 })).rejects.toThrow(
      /minSavingPercent must be between 0 and 100, got 101/,
    );
    const junk = join(dir.path, 'junk.parquet');
    await writeFile(junk, 'not parquet at all');
    await expect(parquetRowCount(junk)).rejects.toThrow(/cannot read Parquet file .*junk\.parquet/);
    await expect(readAll(join(dir.path, 'missing.parquet'))).rejects.toThrow(/missing\.parquet/);
  });

  it('writes several files at once on a pool', async () => {
    const pool = new ParquetWriterPool({ workers: 2 });
    try {
      const files = await Promise.all(
        [0, 1, 2].map((n) => pool.write(join(dir.path, `pool-${n}.parquet`), schema, [batchOf(rowsFor(n * 1000, 1000))])),
      );
      expect(files.map((f) => f.rows)).toEqual([1000, 1000, 1000]);
      for (const n of [0, 1, 2]) expect(rowsOf(await readAll(join(dir.path, `pool-${n}.parquet`)))).toEqual(rowsFor(n * 1000, 1000));
    } finally {
      await pool.close();
    }
    await expect(pool.write(join(dir.path, 'closed.parquet'), schema, [])).rejects.toThrow(/closed/);
  });

  it('keeps memory bounded: 1M rows (~480 MB of Arrow) grow RSS by far less than the data', async () => {
    const path = join(dir.path, 'big.parquet');
    await writeParquet(join(dir.path, 'warm.parquet'), transactionSchema, transactionBatches({ rows: 70_000 }));
    const before = process.memoryUsage().rss;
    let peak = before;
    let arrowBytes = 0;
    function* measured() {
      // Batches of 16k rows keep the generator's own garbage small next to what the writer holds.
      for (const batch of transactionBatches({ rows: 1_000_000, batchRows: 16_384, seed: 7 })) {
        for (const child of batch.data.children) arrowBytes += child.byteLength;
        peak = Math.max(peak, process.memoryUsage().rss);
        yield batch;
      }
    }
    const written = await writeParquet(path, transactionSchema, measured());
    peak = Math.max(peak, process.memoryUsage().rss);
    expect(written.rows).toBe(1_000_000);
    expect(arrowBytes).toBeGreaterThan(450e6);
    expect(peak - before).toBeLessThan(300e6);
    expect(await readdir(dir.path)).toContain('big.parquet');
  });
});

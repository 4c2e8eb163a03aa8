import { tempDir } from '@chainlake/testkit';
import { Field, Int64, Schema, Table, TimestampMicrosecond, Utf8, type RecordBatch } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqlEngine, SqlError, type LakeTableProvider, type QueryResult } from '../src/index.js';
import { MemoryProvider, transactionRows, transactionsSchema, writeTransactions } from './fixture.js';

const ROWS = 50_000;

async function collect(result: QueryResult): Promise<{ batches: RecordBatch[]; table: Table }> {
  const batches: RecordBatch[] = [];
  for await (const batch of result.batches) batches.push(batch);
  return { batches, table: new Table(result.schema, batches) };
}

async function rows(engine: SqlEngine, sql: string, options: Parameters<SqlEngine['query']>[1] = {}): Promise<Array<Record<string, unknown>>> {
  const { table } = await collect(await engine.query(sql, options));
  return table.toArray().map((row) => row.toJSON() as Record<string, unknown>);
}

const types = (schema: Schema): string[] => schema.fields.map((field) => `${field.name}: ${field.type}`);

describe('SqlEngine over lake tables', () => {
  let warehouse: { path: string; remove: () => Promise<void> };
  const provider = new MemoryProvider();
  let engine: SqlEngine;
  const refreshErrors: unknown[] = [];

  beforeAll(async () => {
    warehouse = await tempDir('sql-engine');
    const files = [
      await writeTransactions(warehouse.path, 'synthetic', 'transactions', 0, 20_000),
      await writeTransactions(warehouse.path, 'synthetic', 'transactions', 20_000, 20_000),
      await writeTransactions(warehouse.path, 'synthetic', 'transactions', 40_000, ROWS - 40_000),
    ];
    provider.set('synthetic', 'transactions', transactionsSchema, files);
    provider.set('synthetic', 'blocks', new Schema([new Field('number', new Int64(), false), new Field('hash', new Utf8(), false), new Field('timestamp', new TimestampMicrosecond('UTC'), false)]), []);
    engine = await SqlEngine.open({
      provider,
      allowedDirectories: [warehouse.path],
      threads: 2,
      batchRows: 8_192,
      maxStalenessMs: Infinity,
      onRefreshError: (err) => refreshErrors.push(err),
    });
  });

  afterAll(async () => {
    await engine?.close();
    await warehouse?.remove();
  });

  it('exposes each table as "<namespace>"."<name>" over its Parquet files', async () => {
    const expected = transactionRows(0, ROWS);
    const [summary] = await rows(engine, 'SELECT count(*) AS n, sum(gas_used) AS gas, count(to_address) AS with_to, max(block_number) AS top FROM "synthetic"."transactions"');
    expect(summary.n).toBe(BigInt(ROWS));
    expect(String(summary.gas)).toBe(String(expected.reduce((sum, row) => sum + row.gas_used, 0n)));
    expect(summary.with_to).toBe(BigInt(expected.filter((row) => row.to_address !== null).length));
    expect(summary.top).toBe(expected.at(-1)!.block_number);
    expect((await engine.tables()).map((t) => `${t.namespace}.${t.name}`)).toEqual(['synthetic.blocks', 'synthetic.transactions']);
    expect(refreshErrors).toEqual([]);
  });

  it('streams a large result in bounded batches with the lake types', async () => {
    const { batches, table } = await collect(await engine.query('SELECT * FROM synthetic.transactions ORDER BY block_number, transaction_index'));
    expect(types(table.schema)).toEqual([
      'block_number: Int64',
      'transaction_index: Int32',
      'transaction_hash: Utf8',
      'to_address: Utf8',
      'value: Utf8',
      'gas_used: Int64',
      'success: Bool',
      'block_timestamp: Timestamp<MICROSECOND, UTC>',
    ]);
    expect(table.numRows).toBe(ROWS);
    expect(batches.length).toBeGreaterThanOrEqual(Math.ceil(ROWS / 8_192));
    expect(Math.max(...batches.map((b) => b.numRows))).toBeLessThanOrEqual(8_192 + 2_048);
    const expected = transactionRows(0, ROWS);
    for (const i of [0, 1, 12, 13, 2_047, 2_048, 8_191, 8_192, 19_999, 20_000, 33_333, ROWS - 1]) {
      const row = table.get(i)!;
      const want = expected[i];
      expect({ i, hash: row.transaction_hash, to: row.to_address, value: row.value, success: row.success, index: row.transaction_index }).toEqual({
        i,
        hash: want.transaction_hash,
        to: want.to_address,
        value: want.value,
        success: want.success,
        index: want.transaction_index,
      });
      expect(table.getChild('block_number')!.get(i)).toBe(want.block_number);
      expect((table.getChild('block_timestamp')!.data[0].values as BigInt64Array).length).toBeGreaterThan(0);
    }
    const micros = batches.flatMap((batch) => Array.from(batch.getChild('block_timestamp')!.data[0].values as BigInt64Array).slice(0, batch.numRows));
    expect(micros[ROWS - 1]).toBe(expected[ROWS - 1].block_timestamp);
    expect(table.getChild('to_address')!.nullCount).toBe(expected.filter((row) => row.to_address === null).length);
  });

  it('converts DuckDB types to Arrow types, nulls included', async () => {
    const sql = `SELECT * FROM (VALUES
      (true, 1::TINYINT, 2::SMALLINT, 3::INTEGER, 4::BIGINT, 5::UBIGINT, 1.5::FLOAT, 2.25::DOUBLE, 'x'::VARCHAR, 'abc'::BLOB,
       DATE '2024-01-02', TIME '01:02:03', TIMESTAMP '2024-01-02 03:04:05.123456', TIMESTAMPTZ '2024-01-02 03:04:05.5+00',
       12345.67::DECIMAL(10,2), -9876543210.123::DECIMAL(20,3), 170141183460469231731687303715884105::HUGEINT, [1, 2]),
      (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL))
      AS t(b, ti, si, i, bi, ubi, f, d, s, blob, dt, tm, ts, tstz, dec, bigdec, huge, list)`;
    const { table } = await collect(await engine.query(sql));
    expect(types(table.schema)).toEqual([
      'b: Bool',
      'ti: Int8',
      'si: Int16',
      'i: Int32',
      'bi: Int64',
      'ubi: Uint64',
      'f: Float32',
      'd: Float64',
      's: Utf8',
      'blob: Binary',
      'dt: Date32<DAY>',
      'tm: Time64<MICROSECOND>',
      'ts: Timestamp<MICROSECOND>',
      'tstz: Timestamp<MICROSECOND, UTC>',
      'dec: Decimal[10e+2]',
      'bigdec: Decimal[20e+3]',
      'huge: Decimal[38e0]',
      'list: Utf8',
    ]);
    const first = table.get(0)!;
    expect([first.b, first.ti, first.si, first.i, first.bi, first.ubi, first.f, first.d, first.s]).toEqual([true, 1, 2, 3, 4n, 5n, 1.5, 2.25, 'x']);
    expect(Buffer.from(first.blob as Uint8Array).toString()).toBe('abc');
    expect(table.getChild('dt')!.data[0].values[0]).toBe(19_724);
    expect(table.getChild('tm')!.data[0].values[0]).toBe(3_723_000_000n);
    expect(table.getChild('ts')!.data[0].values[0]).toBe(1_704_164_645_123_456n);
    expect(table.getChild('tstz')!.data[0].values[0]).toBe(1_704_164_645_500_000n);
    const decimal = (column: string): bigint => {
      const words = table.getChild(column)!.data[0].values as Uint32Array;
      return BigInt.asIntN(128, words.slice(0, 4).reduceRight((acc, word) => (acc << 32n) | BigInt(word), 0n));
    };
    expect(decimal('dec')).toBe(1_234_567n);
    expect(decimal('bigdec')).toBe(-9_876_543_210_123n);
    expect(decimal('huge')).toBe(170141183460469231731687303715884105n);
    expect(first.list).toBe('[1, 2]');
    for (const field of table.schema.fields) expect({ column: field.name, value: table.get(1)![field.name] }).toEqual({ column: field.name, value: null });
  });

  it('refuses a huge integer beyond 38 digits, naming the column', async () => {
    const query = engine.query('SELECT 170141183460469231731687303715884105727::HUGEINT AS too_big');
    await expect(query.then(collect)).rejects.toThrow(/column "too_big".*more than 38 digits/);
  });

  it('gives an empty table an empty view with its columns', async () => {
    const { table } = await collect(await engine.query('SELECT * FROM synthetic.blocks'));
    expect(table.numRows).toBe(0);
    expect(types(table.schema)).toEqual(['number: Int64', 'hash: Utf8', 'timestamp: Timestamp<MICROSECOND, UTC>']);
  });

  it('describes a statement without running it, parameters included', async () => {
    const description = await engine.describe('SELECT block_number, transaction_hash, $1::INTEGER AS n FROM synthetic.transactions WHERE gas_used > $2');
    expect(types(description.schema)).toEqual(['block_number: Int64', 'transaction_hash: Utf8', 'n: Int32']);
    expect(description.parameters.fields.map((f) => f.name)).toEqual(['1', '2']);
    expect(String(description.parameters.fields[0].type)).toBe('Int32');
  });

  it('binds positional and named parameters', async () => {
    const positional = await rows(engine, 'SELECT count(*) AS n FROM synthetic.transactions WHERE block_number BETWEEN ? AND ? AND success = ?', {
      params: [100, 199n, true],
    });
    const expected = transactionRows(1_000, 1_000).filter((row) => row.success).length;
    expect(positional[0].n).toBe(BigInt(expected));
    const named = await rows(engine, 'SELECT $hash AS h, $at AS at', { params: { hash: '0xab', at: new Date('2024-01-01T00:00:01Z') } });
    expect(named[0].h).toBe('0xab');
    await expect(engine.query('SELECT $1 AS x', { params: [] })).rejects.toThrow('the statement has 1 parameter(s), 0 given');
    await expect(engine.query('SELECT $a AS x', { params: { b: 1 } })).rejects.toThrow('the statement has no parameter named b');
  });

  it('resolves unqualified names in the given namespace', async () => {
    expect((await rows(engine, 'SELECT count(*) AS n FROM transactions', { namespace: 'synthetic' }))[0].n).toBe(BigInt(ROWS));
    await expect(engine.query('SELECT 1', { namespace: 'nope' })).rejects.toBeInstanceOf(SqlError);
  });

  it('refuses anything but queries, and files outside the warehouse', async () => {
    for (const sql of [
      'CREATE TABLE x (a INTEGER)',
      'DROP VIEW synthetic.transactions',
      `COPY synthetic.transactions TO '${warehouse.path}/out.parquet'`,
      'SET threads = 1',
      "ATTACH ':memory:' AS other",
      'INSTALL httpfs',
      'CALL pragma_version()',
    ]) {
      const refused = engine.query(sql);
      await expect(refused).rejects.toBeInstanceOf(SqlError);
      await expect(refused).rejects.toThrow(/only queries \(SELECT, EXPLAIN\) are allowed on this read-only service, got a \w+ statement/);
    }
    await expect(engine.query("INSERT INTO synthetic.blocks VALUES (1, 'h', now())")).rejects.toBeInstanceOf(SqlError);
    await expect(engine.query("SELECT * FROM query('CREATE TABLE t (a INTEGER)')").then(collect)).rejects.toBeInstanceOf(SqlError);
    await expect(engine.query("SELECT getenv('HOME')")).rejects.toBeInstanceOf(SqlError);
    await expect(engine.query("SELECT * FROM read_csv('/etc/passwd')")).rejects.toThrow(/Permission Error.*file system operations are disabled/);
    await expect(engine.query("SELECT * FROM read_text('/etc/hostname')")).rejects.toBeInstanceOf(SqlError);
    const own = await rows(engine, `SELECT count(*) AS n FROM read_parquet('${warehouse.path}/synthetic/transactions/data/*.parquet')`);
    expect(own[0].n).toBe(BigInt(ROWS));
    expect((await rows(engine, 'SELECT count(*) AS n FROM synthetic.transactions'))[0].n).toBe(BigInt(ROWS));
  });

  it('answers SQL errors with DuckDB\'s message', async () => {
    await expect(engine.query('SELEC 1')).rejects.toThrow(/^Parser Error: syntax error at or near "SELEC"/);
    await expect(engine.query('SELECT * FROM synthetic.nope')).rejects.toThrow(/^Catalog Error: Table with name nope does not exist/);
    await expect(engine.query('SELECT nope FROM synthetic.transactions')).rejects.toThrow(/^Binder Error: Referenced column "nope" not found/);
    await expect(engine.query('SELECT 1; SELECT 2')).rejects.toBeInstanceOf(SqlError);
    const failing = engine.query("SELECT CAST(transaction_hash AS INTEGER) FROM synthetic.transactions");
    await expect(failing.then(collect)).rejects.toThrow(/^Conversion Error/);
  });

  it('stops and releases a query whose reader stops early or aborts', async () => {
    for (let i = 0; i < 20; i++) {
      const result = await engine.query('SELECT * FROM synthetic.transactions');
      for await (const batch of result.batches) {
        expect(batch.numRows).toBeGreaterThan(0);
        break;
      }
    }
    const huge = Date.now();
    const endless = await engine.query('SELECT range AS n, range::VARCHAR AS s FROM range(1000000000)');
    for await (const batch of endless.batches) {
      expect(batch.getChild('n')!.get(0)).toBe(0n);
      break;
    }
    expect(Date.now() - huge).toBeLessThan(5_000); // a billion rows were not materialised first

    const controller = new AbortController();
    const started = Date.now();
    const slow = engine.query('SELECT sum(hash(a.range + b.range)) FROM range(100000000) a, range(100) b', { signal: controller.signal });
    setTimeout(() => controller.abort(), 200);
    await expect(slow.then(collect)).rejects.toThrow(/interrupt/i);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect((await rows(engine, 'SELECT 42 AS answer'))[0].answer).toBe(42);
  });

  it('rebuilds a view when told, and refreshes stale views before a query', async () => {
    const extra = await writeTransactions(warehouse.path, 'synthetic', 'transactions', ROWS, 1_000);
    const entry = provider.tables.get('synthetic.transactions')!;
    provider.set('synthetic', 'transactions', transactionsSchema, [...entry.files, extra]);
    expect((await rows(engine, 'SELECT count(*) AS n FROM synthetic.transactions'))[0].n).toBe(BigInt(ROWS));
    await engine.refresh('synthetic', 'transactions');
    expect((await rows(engine, 'SELECT count(*) AS n FROM synthetic.transactions'))[0].n).toBe(BigInt(ROWS + 1_000));

    const failing: LakeTableProvider = { listTables: () => Promise.reject(new Error('catalog down')), currentFiles: provider.currentFiles.bind(provider) };
    const errors: unknown[] = [];
    const early = await SqlEngine.open({ provider: failing, allowedDirectories: [warehouse.path], threads: 1, maxStalenessMs: 0, onRefreshError: (err) => errors.push(err) });
    try {
      expect(String(errors[0])).toContain('catalog down');
      await expect(early.query('SELECT count(*) FROM synthetic.transactions')).rejects.toThrow(/Catalog Error/);
      failing.listTables = () => provider.listTables();
      expect((await rows(early, 'SELECT count(*) AS n FROM synthetic.transactions'))[0].n).toBe(BigInt(ROWS + 1_000));
    } finally {
      await early.close();
    }

    provider.set('other', 'transactions', transactionsSchema, [extra]);
    const eager = await SqlEngine.open({ provider, allowedDirectories: [warehouse.path], threads: 1, maxStalenessMs: 0 });
    try {
      expect((await rows(eager, 'SELECT count(*) AS n FROM other.transactions'))[0].n).toBe(1_000n);
      provider.tables.delete('other.transactions');
      await expect(eager.query('SELECT count(*) FROM other.transactions')).rejects.toThrow(/Catalog Error/);
      provider.set('synthetic', 'transactions', transactionsSchema, entry.files);
      expect((await rows(eager, 'SELECT count(*) AS n FROM synthetic.transactions'))[0].n).toBe(BigInt(ROWS));
    } finally {
      await eager.close();
    }
  });
});

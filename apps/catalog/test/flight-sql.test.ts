import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { InfluxDBClient } from '@influxdata/influxdb3-client';
import { createFlightSqlClient, type ClientOptions, type FlightSqlClient } from '@lakehouse-rs/flight-sql-client';
import {
  Bool,
  Field,
  Int32,
  Int64,
  makeData,
  RecordBatch,
  RecordBatchReader,
  Schema,
  Struct,
  Table,
  tableFromIPC,
  TimestampMicrosecond,
  Type,
  Utf8,
  vectorFromArray,
} from 'apache-arrow';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearerTokenAuth, FlightClient, FlightServer, type CallContext, type FlightError } from '@chainlake/flight';
import { encodeMessage, packAny, unpackAny } from '@chainlake/flight-sql';
import { writeParquet } from '@chainlake/lake';
import { createMetrics } from '@chainlake/service';
import { SqlEngine, type LakeTable, type LakeTableProvider } from '@chainlake/sql';
import { tempDir } from '@chainlake/testkit';
import { flightSqlHandlers, type FlightSqlHandlers } from '../src/flight-sql.js';

const TOKEN = 'flight-sql-token';
const ROWS = 30_000;

const transactions = new Schema([
  new Field('block_number', new Int64(), false),
  new Field('transaction_index', new Int32(), false),
  new Field('transaction_hash', new Utf8(), false),
  new Field('to_address', new Utf8(), true),
  new Field('value', new Utf8(), false),
  new Field('gas_used', new Int64(), false),
  new Field('success', new Bool(), false),
  new Field('block_timestamp', new TimestampMicrosecond('UTC'), false),
]);
const blocks = new Schema([new Field('number', new Int64(), false), new Field('hash', new Utf8(), false)]);

function transactionBatch(first: number, count: number): RecordBatch {
  const at = (k: number) => first + k;
  const column = (values: unknown[], field: Field) => vectorFromArray(values, field.type).data[0];
  const f = transactions.fields;
  const children = [
    column(Array.from({ length: count }, (_, k) => BigInt(Math.floor(at(k) / 10))), f[0]),
    column(Array.from({ length: count }, (_, k) => at(k) % 10), f[1]),
    column(Array.from({ length: count }, (_, k) => `0x${(at(k) * 2654435761).toString(16).padStart(64, '0')}`), f[2]),
    column(Array.from({ length: count }, (_, k) => (at(k) % 11 === 0 ? null : `0x${(at(k) % 499).toString(16).padStart(40, '0')}`)), f[3]),
    column(Array.from({ length: count }, (_, k) => `${BigInt(at(k)) * 999_999_999_999n}`), f[4]),
    column(Array.from({ length: count }, (_, k) => BigInt(21_000 + (at(k) % 9_999))), f[5]),
    column(Array.from({ length: count }, (_, k) => at(k) % 5 !== 0), f[6]),
    makeData({
      type: f[7].type as TimestampMicrosecond,
      length: count,
      nullCount: 0,
      data: BigInt64Array.from({ length: count }, (_, k) => 1_704_067_200_000_000n + BigInt(at(k)) * 1_000_123n),
    }),
  ];
  return new RecordBatch(transactions, makeData({ type: new Struct(transactions.fields), length: count, nullCount: 0, children }));
}

/** The provider as the catalog's would be, backed by the Parquet files found under the warehouse folder. */
class FolderProvider implements LakeTableProvider {
  constructor(
    private readonly warehouse: string,
    private readonly tables: LakeTable[],
  ) {}

  async listTables(): Promise<LakeTable[]> {
    return this.tables;
  }

  async currentFiles(namespace: string, name: string): Promise<string[]> {
    const dir = join(this.warehouse, namespace, name, 'data');
    const entries = await readdir(dir).catch(() => []);
    return entries
      .filter((file) => file.endsWith('.parquet'))
      .sort()
      .map((file) => join(dir, file));
  }
}

/** One string per row; a timestamp column is read as its raw microseconds (Arrow's get() rounds to milliseconds). */
function canonicalRows(table: Table): string[] {
  const out: string[] = [];
  for (const batch of table.batches) {
    const columns = batch.schema.fields.map((field, i) => ({ field, data: batch.getChildAt(i)!.data[0], vector: batch.getChildAt(i)! }));
    for (let row = 0; row < batch.numRows; row++) {
      out.push(
        columns
          .map(({ field, data, vector }) => {
            if (!data.getValid(row)) return '∅';
            if (field.type.typeId === Type.Timestamp) return String((data.values as BigInt64Array)[row]);
            return String(vector.get(row));
          })
          .join('|'),
      );
    }
  }
  return out;
}

/** Row count and an order-independent checksum (sum of per-row hashes mod 2^64). */
function digest(rows: string[]): { rows: number; checksum: string } {
  let sum = 0n;
  for (const row of rows) sum = (sum + createHash('sha256').update(row).digest().readBigUInt64LE(0)) & 0xffff_ffff_ffff_ffffn;
  return { rows: rows.length, checksum: sum.toString(16) };
}

function context(): CallContext {
  return { headers: {}, peer: 'test', signal: new AbortController().signal };
}

function ipcTable(buffer: Buffer): Table {
  return tableFromIPC(buffer);
}

describe('Flight SQL on the catalog', () => {
  let warehouse: { path: string; remove: () => Promise<void> };
  let files: string[];
  let engine: SqlEngine;
  const metrics = createMetrics('catalog');
  const servers: FlightServer[] = [];
  const handlerSets: FlightSqlHandlers[] = [];
  let open: FlightServer;
  let secured: FlightServer;
  let flight: FlightClient;
  /** What DuckDB reading the Parquet files directly answers. */
  let direct: { rows: number; checksum: string };
  const refusals: string[] = [];

  const port = (server: FlightServer): number => Number(server.location.split(':').at(-1));
  const rust = (server: FlightServer, extra: Partial<ClientOptions> = {}): Promise<FlightSqlClient> =>
    createFlightSqlClient({ host: '127.0.0.1', port: port(server), tls: false, headers: [], ...extra });

  beforeAll(async () => {
    warehouse = await tempDir('flight-sql');
    files = [];
    for (const [first, count] of [
      [0, 12_000],
      [12_000, 12_000],
      [24_000, ROWS - 24_000],
    ]) {
      const path = join(warehouse.path, 'synthetic', 'transactions', 'data', `transactions_${first}.parquet`);
      const batches = [];
      for (let at = first; at < first + count; at += 4_000) batches.push(transactionBatch(at, Math.min(4_000, first + count - at)));
      await writeParquet(path, transactions, batches, { rowGroupRows: 5_000 });
      files.push(path);
    }
    const provider = new FolderProvider(warehouse.path, [
      { namespace: 'synthetic', name: 'transactions', arrowSchema: transactions },
      { namespace: 'synthetic', name: 'blocks', arrowSchema: blocks },
    ]);
    engine = await SqlEngine.open({ provider, allowedDirectories: [warehouse.path], threads: 2, batchRows: 4_096, maxStalenessMs: 0 });

    const reference = await DuckDBInstance.create(':memory:', { threads: '1' });
    const connection = await reference.connect();
    const list = files.map((file) => `'${file}'`).join(', ');
    const all = await connection.runAndReadAll(
      `SELECT block_number, transaction_index, transaction_hash, to_address, value, gas_used, success, epoch_us(block_timestamp) FROM read_parquet([${list}])`,
    );
    const canonical = all.getRowsJS().map((row) => row.map((value) => (value === null ? '∅' : String(value))).join('|'));
    direct = digest(canonical);
    connection.closeSync();
    reference.closeSync();

    const log = pino({ level: 'silent' });
    const tokenAuth = bearerTokenAuth(TOKEN);
    const recordingAuth = {
      ...tokenAuth,
      authenticate(headers: Record<string, string>) {
        try {
          tokenAuth.authenticate(headers);
        } catch (err) {
          refusals.push((err as FlightError).code);
          throw err;
        }
      },
    };
    for (const auth of [{}, recordingAuth]) {
      const handlers = flightSqlHandlers({ engine, metrics, log, preparedStatementTtlMs: 60_000 });
      const server = new FlightServer(handlers, { port: 0, ...auth });
      await server.start();
      servers.push(server);
      handlerSets.push(handlers);
    }
    [open, secured] = servers;
    flight = new FlightClient(open.location);
  });

  afterAll(async () => {
    flight?.close();
    for (const handlers of handlerSets) handlers.close();
    for (const server of servers) await server.stop(1000);
    await engine?.close();
    await warehouse?.remove();
  });

  it('the Rust Flight SQL client gets the rows DuckDB reads from the Parquet files', async () => {
    const client = await rust(open);
    const table = ipcTable(await client.query('SELECT * FROM synthetic.transactions'));
    expect(table.schema.fields.map((f) => `${f.name}: ${f.type}`)).toEqual(transactions.fields.map((f) => `${f.name}: ${f.type}`));
    expect(digest(canonicalRows(table))).toEqual(direct);
    expect(direct.rows).toBe(ROWS);

    const counted = ipcTable(await client.query('SELECT count(*) AS n, sum(gas_used) AS gas FROM "chainlake"."synthetic"."transactions" WHERE success'));
    expect(counted.get(0)!.n).toBe(BigInt(ROWS - ROWS / 5));
  });

  it('the Rust client lists catalogs, schemas and tables with their schemas', async () => {
    const client = await rust(open);
    expect(ipcTable(await client.getCatalogs()).getChild('catalog_name')!.toArray()).toEqual(['chainlake']);
    const schemas = ipcTable(await client.getDbSchemas({}));
    expect(schemas.toArray().map((row) => row.toJSON())).toEqual([{ catalog_name: 'chainlake', db_schema_name: 'synthetic' }]);
    expect(ipcTable(await client.getDbSchemas({ dbSchemaFilterPattern: 'eth%' })).numRows).toBe(0);

    const tables = ipcTable(await client.getTables({ includeSchema: true }));
    expect(tables.toArray().map((row) => `${row.catalog_name}.${row.db_schema_name}.${row.table_name}:${row.table_type}`)).toEqual([
      'chainlake.synthetic.blocks:TABLE',
      'chainlake.synthetic.transactions:TABLE',
    ]);
    const reader = RecordBatchReader.from(tables.getChild('table_schema')!.get(1) as Uint8Array);
    reader.open();
    expect(reader.schema.fields.map((f) => `${f.name}: ${f.type}`)).toEqual(transactions.fields.map((f) => `${f.name}: ${f.type}`));
    const filtered = ipcTable(await client.getTables({ tableNameFilterPattern: 'trans%', tableTypes: ['TABLE'] }));
    expect(filtered.getChild('table_name')!.toArray()).toEqual(['transactions']);
    expect(filtered.schema.fields.map((f) => f.name)).not.toContain('table_schema');
    expect(ipcTable(await client.getTables({ tableTypes: ['VIEW'] })).numRows).toBe(0);
  });

  it('@influxdata/influxdb3-client with the JSON SQL ticket gets the same rows', async () => {
    const client = new InfluxDBClient({ host: `http://127.0.0.1:${port(open)}`, token: 'unused-without-auth' });
    const rows: string[] = [];
    try {
      const sql = 'SELECT block_number, transaction_index, transaction_hash, to_address, value, gas_used, success, epoch_us(block_timestamp) AS ts FROM transactions';
      for await (const row of client.query(sql, 'synthetic')) {
        rows.push(Object.values(row).map((value) => (value === null ? '∅' : String(value))).join('|'));
      }
      expect(digest(rows)).toEqual(direct);

      const named: Array<Record<string, unknown>> = [];
      for await (const row of client.query('SELECT count(*) AS n FROM transactions WHERE block_number < $below', 'synthetic', { params: { below: 100 } })) named.push(row);
      expect(named).toEqual([{ n: 1_000n }]);
      const qualified: Array<Record<string, unknown>> = [];
      for await (const row of client.query('SELECT count(*) AS n FROM synthetic.transactions', 'chainlake')) qualified.push(row);
      expect(qualified).toEqual([{ n: BigInt(ROWS) }]);
    } finally {
      await client.close();
    }
  });

  it('prepared statements: create, bind parameters, execute, close', async () => {
    const [created] = await flight.doAction(
      'CreatePreparedStatement',
      packAny('ActionCreatePreparedStatementRequest', { query: 'SELECT transaction_hash, gas_used FROM synthetic.transactions WHERE block_number = $1 ORDER BY transaction_index' }),
    );
    const result = unpackAny(created);
    if (result?.name !== 'ActionCreatePreparedStatementResult') throw new Error(`unexpected ${result?.name}`);
    const { preparedStatementHandle: handle, datasetSchema, parameterSchema } = result.message;
    const schemaOf = (bytes: Buffer) => {
      const reader = RecordBatchReader.from(bytes);
      reader.open();
      return reader.schema.fields.map((f) => `${f.name}: ${f.type}`);
    };
    expect(schemaOf(datasetSchema)).toEqual(['transaction_hash: Utf8', 'gas_used: Int64']);
    expect(schemaOf(parameterSchema)).toEqual(['1: Int64']);

    const descriptor = { type: 'CMD' as const, cmd: packAny('CommandPreparedStatementQuery', { preparedStatementHandle: handle }) };
    const params = new Schema([new Field('1', new Int64(), false)]);
    const bound = new RecordBatch(params, makeData({ type: new Struct(params.fields), length: 1, nullCount: 0, children: [vectorFromArray([42n], new Int64()).data[0]] }));
    const [putResult] = await flight.doPut(descriptor, params, [bound]);
    expect(unpackAny(packAny('DoPutPreparedStatementResult', {}))?.name).toBe('DoPutPreparedStatementResult');
    expect(putResult).toEqual(encodeMessage('DoPutPreparedStatementResult', { preparedStatementHandle: handle }));

    const info = await flight.getFlightInfo(descriptor);
    expect(info.schema.fields.map((f) => f.name)).toEqual(['transaction_hash', 'gas_used']);
    const table = await flight.doGetTable(info.endpoints[0].ticket);
    expect(table.numRows).toBe(10);
    expect(table.getChild('transaction_hash')!.get(0)).toBe(`0x${(420 * 2654435761).toString(16).padStart(64, '0')}`);

    expect(await flight.doAction('ClosePreparedStatement', packAny('ActionClosePreparedStatementRequest', { preparedStatementHandle: handle }))).toEqual([]);
    await expect(flight.getFlightInfo(descriptor)).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining('no such prepared statement') });
    await expect(flight.doAction('ClosePreparedStatement', packAny('ActionClosePreparedStatementRequest', { preparedStatementHandle: handle }))).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    expect((await flight.listActions()).map((a) => a.type)).toEqual(['CreatePreparedStatement', 'ClosePreparedStatement']);
  });

  it('expires prepared statements left unused past their time to live', async () => {
    const shortLived = flightSqlHandlers({ engine, metrics, log: pino({ level: 'silent' }), preparedStatementTtlMs: 100 });
    try {
      const [created] = await shortLived.doAction('CreatePreparedStatement', packAny('ActionCreatePreparedStatementRequest', { query: 'SELECT 1' }), context());
      const result = unpackAny(created);
      if (result?.name !== 'ActionCreatePreparedStatementResult') throw new Error(`unexpected ${result?.name}`);
      const descriptor = { type: 'CMD' as const, cmd: packAny('CommandPreparedStatementQuery', { preparedStatementHandle: result.message.preparedStatementHandle }) };
      expect((await shortLived.getFlightInfo(descriptor, context())).schema.fields).toHaveLength(1);
      await new Promise((resolve) => setTimeout(resolve, 250));
      await expect(shortLived.getFlightInfo(descriptor, context())).rejects.toMatchObject({ code: 'NOT_FOUND' });
    } finally {
      shortLived.close();
    }
  });

  it('claims only Flight SQL descriptors, tickets and actions, so it combines with other handlers', () => {
    const [handlers] = handlerSets;
    expect(handlers.ownsTicket(packAny('TicketStatementQuery', { statementHandle: Buffer.from('{}') }))).toBe(true);
    expect(handlers.ownsTicket(Buffer.from(JSON.stringify({ database: 'synthetic', sql_query: 'SELECT 1', query_type: 'sql' })))).toBe(true);
    expect(handlers.ownsTicket(Buffer.from(JSON.stringify({ sql_query: 42 })))).toBe(true);
    expect(handlers.ownsTicket(Buffer.from(JSON.stringify({ table: 'synthetic.transactions', columns: ['block_number'] })))).toBe(false);
    expect(handlers.ownsTicket(Buffer.from(JSON.stringify({ segment: 'synthetic:0-99', dataset: 'blocks' })))).toBe(false);
    expect(handlers.ownsDescriptor({ type: 'CMD', cmd: packAny('CommandGetCatalogs', {}) })).toBe(true);
    expect(handlers.ownsDescriptor({ type: 'CMD', cmd: Buffer.from(JSON.stringify({ table: 'synthetic.transactions' })) })).toBe(false);
    expect(handlers.ownsDescriptor({ type: 'PATH', path: ['synthetic', 'transactions'] })).toBe(false);
    expect(handlers.ownsAction('CreatePreparedStatement')).toBe(true);
    expect(handlers.ownsAction('compact')).toBe(false);
  });

  it('GetSqlInfo and GetTableTypes answer the spec schemas', async () => {
    const descriptor = { type: 'CMD' as const, cmd: packAny('CommandGetSqlInfo', { info: [0, 3, 504, 508, 522] }) };
    const info = await flight.getFlightInfo(descriptor);
    expect(info.schema.fields.map((f) => f.name)).toEqual(['info_name', 'value']);
    const table = await flight.doGetTable(info.endpoints[0].ticket);
    const values = new Map(table.toArray().map((row) => [row.info_name as number, row.value as unknown]));
    expect(values.get(0)).toBe('chainlake');
    expect(values.get(3)).toBe(true);
    expect(values.get(504)).toBe('"');
    expect(Array.from(values.get(508) as Iterable<string>)).toContain('select');
    expect(values.get(522)).toBe(3);
    const types = await flight.getFlightInfo({ type: 'CMD', cmd: packAny('CommandGetTableTypes', {}) });
    expect((await flight.doGetTable(types.endpoints[0].ticket)).getChild('table_type')!.toArray()).toEqual(['TABLE']);
    expect((await flight.getSchema({ type: 'CMD', cmd: packAny('CommandStatementQuery', { query: 'SELECT 1 AS one' }) })).fields.map((f) => `${f.name}: ${f.type}`)).toEqual(['one: Int32']);
  });

  it('SQL errors, non-SELECT statements and bad tickets answer INVALID_ARGUMENT with the reason', async () => {
    const before = await metrics.registry.getSingleMetric('chainlake_catalog_flight_sql_queries_total')!.get();
    // the Rust client's binding reports every failure as "failed to prepare statement"; the status it got is
    // asserted with our client sending the same CommandStatementQuery
    const client = await rust(open);
    const statement = (query: string) => flight.getFlightInfo({ type: 'CMD', cmd: packAny('CommandStatementQuery', { query }) });
    for (const [query, message] of [
      ['SELEC 1', /^Parser Error: syntax error at or near "SELEC"/],
      ['SELECT * FROM synthetic.nope', /^Catalog Error: Table with name nope does not exist/],
      ['CREATE TABLE x (a INTEGER)', /^only queries \(SELECT, EXPLAIN\) are allowed on this read-only service, got a CREATE statement/],
      ["SELECT * FROM read_csv('/etc/passwd')", /^Permission Error: Cannot access file "\/etc\/passwd"/],
    ] as const) {
      await expect(client.query(query)).rejects.toThrow('failed to prepare statement');
      await expect(statement(query)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(message) });
    }

    const invalid = (ticket: Buffer | string) => expect(flight.doGetTable(ticket)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await invalid('not a ticket');
    await invalid(JSON.stringify({ database: 'synthetic', sql_query: 'DROP VIEW transactions', query_type: 'sql' }));
    await invalid(JSON.stringify({ database: 'synthetic', sql_query: 'SELECT 1', query_type: 'influxql' }));
    await invalid(JSON.stringify({ database: 'synthetic', sql_query: 42 }));
    await invalid(packAny('TicketStatementQuery', { statementHandle: Buffer.from('forged') }));
    const typeUrl = Buffer.from('type.googleapis.com/arrow.flight.protocol.sql.TicketStatementQuery');
    await invalid(Buffer.concat([Buffer.from([0x0a, typeUrl.length]), typeUrl, Buffer.from([0x12, 2, 0x0a, 0xff])])); // truncated handle
    await expect(flight.doGetTable(JSON.stringify({ database: 'synthetic', sql_query: 'SELEC 1', query_type: 'sql' }))).rejects.toMatchObject({
      message: expect.stringMatching(/^Parser Error/),
    });
    const failsMidStream = flight.doGetTable(JSON.stringify({ sql_query: "SELECT CAST(CASE WHEN block_number > 2000 THEN 'x' ELSE '1' END AS INTEGER) FROM synthetic.transactions" }));
    await expect(failsMidStream).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/^Conversion Error/) });

    const update = { type: 'CMD' as const, cmd: packAny('CommandStatementUpdate', { query: 'DELETE FROM synthetic.transactions' }) };
    await expect(flight.getFlightInfo(update)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('read-only') });
    await expect(flight.doPut(update, transactions, [])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('read-only') });
    const substrait = Buffer.concat([Buffer.from([0x0a, 75]), Buffer.from('type.googleapis.com/arrow.flight.protocol.sql.CommandStatementSubstraitPlan')]);
    await expect(flight.getFlightInfo({ type: 'CMD', cmd: substrait })).rejects.toMatchObject({ code: 'UNIMPLEMENTED' });
    await expect(flight.getFlightInfo({ type: 'PATH', path: ['synthetic', 'transactions'] })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });

    const after = await metrics.registry.getSingleMetric('chainlake_catalog_flight_sql_queries_total')!.get();
    const count = (snapshot: typeof after, result: string) => snapshot.values.find((v) => v.labels.result === result)?.value ?? 0;
    expect(count(after, 'invalid') - count(before, 'invalid')).toBeGreaterThanOrEqual(10);
    expect(count(after, 'ok')).toBeGreaterThan(0);
    const rowsReturned = await metrics.registry.getSingleMetric('chainlake_catalog_flight_sql_rows_returned_total')!.get();
    expect(rowsReturned.values[0].value).toBeGreaterThanOrEqual(ROWS);
  });

  it('with a token configured, both clients need it', async () => {
    // the Rust client's binding hides the status: the server's record of what it refused shows it
    const refusedBefore = refusals.length;
    await expect(rust(secured).then((client) => client.query('SELECT 1'))).rejects.toThrow();
    expect(refusals.slice(refusedBefore)).toEqual(['UNAUTHENTICATED']);
    const withToken = await rust(secured, { token: TOKEN });
    expect(ipcTable(await withToken.query('SELECT count(*) AS n FROM synthetic.transactions')).get(0)!.n).toBe(BigInt(ROWS));
    const withPassword = await rust(secured, { username: 'analyst', password: TOKEN });
    expect(ipcTable(await withPassword.getCatalogs()).numRows).toBe(1);

    const query = async (token: string) => {
      const client = new InfluxDBClient({ host: `http://127.0.0.1:${port(secured)}`, token });
      const rows: unknown[] = [];
      try {
        for await (const row of client.query('SELECT count(*) AS n FROM transactions', 'synthetic')) rows.push(row);
      } finally {
        await client.close();
      }
      return rows;
    };
    await expect(query('wrong')).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(await query(TOKEN)).toEqual([{ n: BigInt(ROWS) }]);
  });
});

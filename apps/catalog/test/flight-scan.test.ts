import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { credentials, loadPackageDefinition, status, type ServiceClientConstructor, type ClientReadableStream } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { tableFromIPC, type Table } from 'apache-arrow';
import { DuckDBInstance } from '@duckdb/node-api';
import { pino } from 'pino';
import { decode } from '@chainlake/chain-evm';
import { SyntheticChain, syntheticOptionsFromEnv } from '@chainlake/chain-synthetic';
import { FlightClient, FlightError, FlightServer } from '@chainlake/flight';
import { writeParquet } from '@chainlake/lake';
import type { ScanFile } from '@chainlake/scan';
import { createMetrics, type Metrics } from '@chainlake/service';
import { repoRoot, tempDir } from '@chainlake/testkit';
import { tableScanHandlers, type ResolvedTable } from '../src/flight-scan.js';

const ROW_GROUP_ROWS = 1_000;
const RANGES = [
  [0, 99],
  [100, 199],
  [200, 299],
] as const;

let dir: { path: string; remove: () => Promise<void> };
let server: FlightServer;
let client: FlightClient;
let metrics: Metrics;
let tables: Record<string, { resolved: ResolvedTable; paths: string[] }>;
let transactionPaths: string[];

/** Arrow's Flight service through grpc-js and proto-loader alone: no code of ours on the client side. */
function genericFlightClient(location: string) {
  const definition = loadSync(join(repoRoot, 'libs/flight/src/flight.proto'), { keepCase: true, defaults: true });
  const proto = loadPackageDefinition(definition) as unknown as { arrow: { flight: { protocol: { FlightService: ServiceClientConstructor } } } };
  const FlightService = proto.arrow.flight.protocol.FlightService;
  return new FlightService(new URL(location).host, credentials.createInsecure());
}

/** DoGet with the generic client; the FlightData messages are framed back into an Arrow IPC stream. */
async function genericDoGet(ticket: unknown): Promise<Table> {
  const service = genericFlightClient(server.location);
  try {
    const call = (service as unknown as { DoGet(request: unknown): ClientReadableStream<{ data_header: Buffer; data_body: Buffer }> }).DoGet({
      ticket: Buffer.from(JSON.stringify(ticket)),
    });
    const chunks: Buffer[] = [];
    for await (const message of call) {
      const header = message.data_header;
      const padding = (8 - (header.length % 8)) % 8;
      const prefix = Buffer.alloc(8);
      prefix.writeUInt32LE(0xffffffff, 0);
      prefix.writeInt32LE(header.length + padding, 4);
      chunks.push(prefix, header, Buffer.alloc(padding), message.data_body);
    }
    chunks.push(Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]));
    return tableFromIPC(Buffer.concat(chunks));
  } finally {
    service.close();
  }
}

async function duckdb<T = Record<string, unknown>>(sql: string): Promise<T[]> {
  const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
  const connection = await instance.connect();
  try {
    return (await connection.runAndReadAll(sql)).getRowObjectsJson() as T[];
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

const fileList = (paths: string[]) => `[${paths.map((p) => `'${p}'`).join(', ')}]`;

/** FNV-1a (64-bit) of each row's text, summed: equal for equal multisets of rows, whatever their order. */
function checksum(lines: string[]): bigint {
  let sum = 0n;
  for (const line of lines) {
    let hash = 0xcbf29ce484222325n;
    for (const byte of Buffer.from(line)) hash = BigInt.asUintN(64, (hash ^ BigInt(byte)) * 0x100000001b3n);
    sum = BigInt.asUintN(64, sum + hash);
  }
  return sum;
}

async function metricValue(name: string, labels: Record<string, string>): Promise<number> {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  const value = metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return Number(value?.value ?? 0);
}

async function flightError(run: () => Promise<unknown>): Promise<FlightError> {
  try {
    await run();
  } catch (error) {
    expect(error).toBeInstanceOf(FlightError);
    return error as FlightError;
  }
  throw new Error('expected the call to fail');
}

beforeAll(async () => {
  dir = await tempDir('flight-scan');
  const chain = new SyntheticChain(syntheticOptionsFromEnv({}));
  const segments = RANGES.map(([from, to]) => decode(chain.rawSegment(from, to), 1337));
  const write = async (name: string, index: number, table: Table) => {
    const path = join(dir.path, `${name}_${RANGES[index][0]}_${RANGES[index][1]}.parquet`);
    await writeParquet(path, table.schema, table.batches, { rowGroupRows: ROW_GROUP_ROWS });
    return path;
  };
  transactionPaths = await Promise.all(segments.map((segment, i) => write('transactions', i, segment.transactions)));
  const blockPaths = [await write('blocks', 0, segments[0].blocks)];
  // Files carry their block range as bounds, as the Iceberg manifests record them.
  const scanFiles = (paths: string[], records: number[]): ScanFile[] =>
    paths.map((path, i) => ({
      path,
      recordCount: records[i],
      columnBounds: new Map([['block_number', { min: BigInt(RANGES[i][0]), max: BigInt(RANGES[i][1]) }]]),
    }));
  const txCounts = segments.map((s) => s.transactions.numRows);
  tables = {
    'synthetic.transactions': {
      paths: transactionPaths,
      resolved: {
        schema: segments[0].transactions.schema,
        files: scanFiles(transactionPaths, txCounts),
        totalRecords: txCounts.reduce((a, b) => a + b),
      },
    },
    'synthetic.blocks': {
      paths: blockPaths,
      resolved: { schema: segments[0].blocks.schema, files: scanFiles(blockPaths, [100]), totalRecords: 100 },
    },
  };

  metrics = createMetrics('catalog');
  server = new FlightServer(
    tableScanHandlers({
      listTables: async () => Object.keys(tables).map((name) => ({ namespace: name.split('.')[0], table: name.split('.')[1] })),
      resolveTable: async (namespace, table, snapshotId) => (snapshotId === undefined || snapshotId === 7 ? tables[`${namespace}.${table}`]?.resolved : undefined),
      metrics,
      log: pino({ level: 'silent' }),
      location: () => server.location,
    }),
    { port: 0 },
  );
  await server.start();
  client = new FlightClient(server.location);
});

afterAll(async () => {
  client?.close();
  await server?.stop(1_000);
  await dir?.remove();
});

describe('table scans over Flight', () => {
  it('DoGet with projection and filter returns the rows DuckDB returns for the same SQL over the same files', async () => {
    const ticket = {
      table: 'synthetic.transactions',
      columns: ['block_number', 'transaction_hash', 'to_address', 'value', 'block_timestamp', 'success'],
      where: {
        block_number: { between: [130, 260] },
        value: { gt: '100000000000000000' },
        or: [{ success: { eq: false } }, { to_address: { lt: '0x8' } }],
      },
    };
    const table = await genericDoGet(ticket);
    expect(table.schema.fields.map((f) => f.name)).toEqual(ticket.columns);

    const blocks = table.getChild('block_number')!;
    const hashes = table.getChild('transaction_hash')!;
    const to = table.getChild('to_address')!;
    const values = table.getChild('value')!;
    const success = table.getChild('success')!;
    // Timestamps from the buffers (µs): Arrow's accessor converts them to milliseconds.
    const micros = table.getChild('block_timestamp')!.data.flatMap((data) => Array.from(data.values as BigInt64Array));
    const flightLines = Array.from(
      { length: table.numRows },
      (_, i) => `${blocks.get(i)}|${hashes.get(i)}|${to.get(i) ?? 'NULL'}|${values.get(i)}|${micros[i]}|${success.get(i)}`,
    );

    const duckLines = (
      await duckdb<{ line: string }>(
        `SELECT concat_ws('|', block_number, transaction_hash, coalesce(to_address, 'NULL'), value, epoch_us(block_timestamp), success) AS line
         FROM read_parquet(${fileList(transactionPaths)})
         WHERE block_number BETWEEN 130 AND 260 AND CAST(value AS HUGEINT) > 100000000000000000 AND (NOT success OR to_address < '0x8')`,
      )
    ).map((row) => row.line);

    expect(duckLines.length).toBeGreaterThan(100);
    expect(table.numRows).toBe(duckLines.length);
    expect(checksum(flightLines)).toBe(checksum(duckLines));
  });

  it('a filter on block_number reads only the files and row groups that can match', async () => {
    const counters = async () => ({
      filesScanned: await metricValue('chainlake_catalog_scan_files_total', { result: 'scanned' }),
      filesPruned: await metricValue('chainlake_catalog_scan_files_total', { result: 'pruned' }),
      groupsScanned: await metricValue('chainlake_catalog_scan_row_groups_total', { result: 'scanned' }),
      groupsPruned: await metricValue('chainlake_catalog_scan_row_groups_total', { result: 'pruned' }),
    });
    const before = await counters();
    const rows = await client.doGetTable(JSON.stringify({ table: 'synthetic.transactions', columns: ['block_number'], where: { block_number: { between: [130, 139] } } }));
    const after = await counters();

    // The row groups DuckDB's own footer reader says can hold blocks 130–139, in the only file that can.
    const [groups] = await duckdb<{ overlapping: string; total: string }>(
      `SELECT count(*) FILTER (WHERE CAST(stats_max_value AS BIGINT) >= 130 AND CAST(stats_min_value AS BIGINT) <= 139) AS overlapping, count(*) AS total
       FROM parquet_metadata('${transactionPaths[1]}') WHERE path_in_schema = 'block_number'`,
    );
    const [expected] = await duckdb<{ n: string }>(`SELECT count(*) AS n FROM read_parquet(${fileList(transactionPaths)}) WHERE block_number BETWEEN 130 AND 139`);

    expect(rows.numRows).toBe(Number(expected.n));
    expect(Number(groups.overlapping)).toBeGreaterThanOrEqual(1);
    expect(Number(groups.overlapping)).toBeLessThan(Number(groups.total));
    expect(after.filesScanned - before.filesScanned).toBe(1);
    expect(after.filesPruned - before.filesPruned).toBe(2);
    expect(after.groupsScanned - before.groupsScanned).toBe(Number(groups.overlapping));
    expect(after.groupsPruned - before.groupsPruned).toBe(Number(groups.total) - Number(groups.overlapping));
  });

  it('answers bad tickets with INVALID_ARGUMENT or NOT_FOUND naming the problem, and counts them', async () => {
    const cases: Array<[string, string, string, string]> = [
      ['{"table": "synthetic.transactions"', 'INVALID_ARGUMENT', 'ticket is not valid JSON', 'malformed'],
      ['{"table": "synthetic.transactions", "colums": ["value"]}', 'INVALID_ARGUMENT', 'unknown ticket field "colums"', 'malformed'],
      ['{"columns": ["value"]}', 'INVALID_ARGUMENT', 'ticket names no table', 'malformed'],
      ['{"table": "synthetic.nope"}', 'NOT_FOUND', 'table synthetic.nope does not exist', 'unknown_table'],
      ['{"table": "synthetic.transactions", "snapshot_id": 99}', 'NOT_FOUND', 'table synthetic.transactions at snapshot 99 does not exist', 'unknown_table'],
      ['{"table": "synthetic.transactions", "columns": ["value", "nope"]}', 'INVALID_ARGUMENT', 'unknown column "nope"', 'bad_column'],
      ['{"table": "synthetic.transactions", "where": {"blok": {"eq": 1}}}', 'INVALID_ARGUMENT', 'where.blok: unknown column "blok"', 'bad_column'],
      ['{"table": "synthetic.transactions", "where": {"block_number": {"between": [10, 5]}}}', 'INVALID_ARGUMENT', 'where.block_number.between: low 10 is above high 5', 'bad_filter'],
      ['{"table": "synthetic.transactions", "where": {"value": {"gt": "lots"}}}', 'INVALID_ARGUMENT', 'where.value.gt: expected a non-negative integer', 'bad_filter'],
      ['{"table": "synthetic.transactions", "limit": -5}', 'INVALID_ARGUMENT', 'limit must be a non-negative integer', 'bad_limit'],
    ];
    for (const [ticket, code, message, reason] of cases) {
      const before = await metricValue('chainlake_catalog_rejected_tickets_total', { reason });
      const error = await flightError(() => client.doGetTable(ticket));
      expect({ ticket, code: error.code }).toEqual({ ticket, code });
      expect(error.message).toContain(message);
      expect(await metricValue('chainlake_catalog_rejected_tickets_total', { reason })).toBe(before + 1);
    }
    // The generic client sees the same gRPC status.
    await expect(genericDoGet({ table: 'synthetic.transactions', columns: ['nope'] })).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
  });

  it('serves ListFlights, GetFlightInfo and GetSchema with projected schemas, counts and redeemable tickets', async () => {
    const flights = await client.listFlights();
    expect(flights.map((f) => f.descriptor.path)).toEqual([
      ['synthetic', 'transactions'],
      ['synthetic', 'blocks'],
    ]);
    expect(flights[0].totalRecords).toBe(tables['synthetic.transactions'].resolved.totalRecords);
    expect(flights[0].endpoints[0].locations).toEqual([server.location]);
    expect((await client.listFlights(Buffer.from('synthetic.bl'))).map((f) => f.descriptor.path)).toEqual([['synthetic', 'blocks']]);

    const byPath = await client.getFlightInfo({ type: 'PATH', path: ['synthetic', 'blocks'] });
    expect(byPath.totalRecords).toBe(100);
    expect((await client.doGetTable(byPath.endpoints[0].ticket)).numRows).toBe(100);

    const command = Buffer.from(JSON.stringify({ table: 'synthetic.transactions', columns: ['value', 'block_number'], limit: 10 }));
    const byCommand = await client.getFlightInfo({ type: 'CMD', cmd: command });
    expect(byCommand.schema.fields.map((f) => f.name)).toEqual(['value', 'block_number']);
    expect(byCommand.totalRecords).toBe(10);
    expect((await client.doGetTable(byCommand.endpoints[0].ticket)).numRows).toBe(10);

    const filtered = await client.getFlightInfo({ type: 'CMD', cmd: Buffer.from('{"table":"synthetic.transactions","where":{"success":{"eq":true}}}') });
    expect(filtered.totalRecords).toBe(-1);

    const schema = await client.getSchema({ type: 'CMD', cmd: Buffer.from('{"namespace":"synthetic","name":"transactions","columns":["success"]}') });
    expect(schema.fields.map((f) => `${f.name}:${f.type}`)).toEqual(['success:Bool']);

    const refused = await flightError(() => client.getFlightInfo({ type: 'PATH', path: ['synthetic', 'nope'] }));
    expect(refused.code).toBe('NOT_FOUND');
  });
});

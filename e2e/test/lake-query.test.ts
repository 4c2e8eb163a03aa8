import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentials, loadPackageDefinition, Metadata, type ClientReadableStream, type ServiceClientConstructor } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { DuckDBInstance } from '@duckdb/node-api';
import { InfluxDBClient } from '@influxdata/influxdb3-client';
import { createFlightSqlClient } from '@lakehouse-rs/flight-sql-client';
import { tableFromIPC, type Table } from 'apache-arrow';
import { connectBus, deleteStreams } from '@chainlake/bus';
import type { TableManifest } from '@chainlake/lake';
import { freePort, repoRoot, tempDir, testNatsUrl, uniquePrefix, type ServiceProcess } from '@chainlake/testkit';
import { catalogEnv, dropMeshSchema, expectedChecksums, expectedTables, meshEnv, printLogsOnFailure, seriesValue, startMesh, waitForRows } from './pipeline.js';

const BLOCKS = 300;
const TOKEN = 'e2e-secret';
const COLUMNS = ['block_number', 'transaction_index', 'transaction_hash', 'value'];
const [LOW, HIGH] = [120, 180];
const SQL = `SELECT ${COLUMNS.join(', ')} FROM synthetic.transactions WHERE block_number BETWEEN ${LOW} AND ${HIGH}`;

/** Rows as text lines, sorted: equal for equal multisets of rows whatever order or client. */
const lines = (rows: Iterable<Record<string, unknown>>): string[] => [...rows].map((r) => COLUMNS.map((c) => String(r[c])).join('|')).sort();
const tableRows = (table: Table): Record<string, unknown>[] => table.toArray().map((row) => row.toJSON() as Record<string, unknown>);

/** Arrow's Flight service through grpc-js and proto-loader alone: no code of ours on the client side. */
async function genericDoGet(location: string, ticket: object, token?: string): Promise<Table> {
  const definition = loadSync(join(repoRoot, 'libs/flight/src/flight.proto'), { keepCase: true, defaults: true });
  const proto = loadPackageDefinition(definition) as unknown as { arrow: { flight: { protocol: { FlightService: ServiceClientConstructor } } } };
  const service = new proto.arrow.flight.protocol.FlightService(new URL(location).host, credentials.createInsecure());
  const metadata = new Metadata();
  if (token) metadata.set('authorization', `Bearer ${token}`);
  try {
    const call = (service as unknown as { DoGet(request: unknown, metadata: Metadata): ClientReadableStream<{ data_header: Buffer; data_body: Buffer }> }).DoGet(
      { ticket: Buffer.from(JSON.stringify(ticket)) },
      metadata,
    );
    const chunks: Buffer[] = [];
    for await (const message of call) {
      const padding = (8 - (message.data_header.length % 8)) % 8;
      const prefix = Buffer.alloc(8);
      prefix.writeUInt32LE(0xffffffff, 0);
      prefix.writeInt32LE(message.data_header.length + padding, 4);
      chunks.push(prefix, message.data_header, Buffer.alloc(padding), message.data_body);
    }
    chunks.push(Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]));
    return tableFromIPC(Buffer.concat(chunks));
  } finally {
    service.close();
  }
}


describe('the lake through the catalog: Flight scans and Flight SQL against DuckDB over the same Parquet files', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let env: Record<string, string>;
  let mesh: Record<string, ServiceProcess>;
  let flightLocation: string;
  let httpBase: string;
  let direct: string[];
  let files: TableManifest['files'];

  beforeAll(async () => {
    dir = await tempDir('lake-query');
    const flightPort = await freePort();
    env = meshEnv(uniquePrefix('lakeq'), dir.path, {
      CHAINLAKE_BACKFILL_FROM: '0',
      CHAINLAKE_BACKFILL_TO: String(BLOCKS - 1),
      CHAINLAKE_PARTITION: 'block_range:100',
      CHAINLAKE_PARQUET_ROW_GROUP_ROWS: '400',
      // Small flushes: many appends, so manifests cover few partitions and can be pruned by their summaries.
      CHAINLAKE_ARCHIVER_FLUSH_ROWS: '1000',
      CHAINLAKE_AUTH_TOKEN: TOKEN,
      ...(await catalogEnv()),
    });
    mesh = startMesh(env, dir.path, ['catalog', 'source', 'transformer', 'archiver'], { catalog: { CHAINLAKE_FLIGHT_PORT: String(flightPort) } });
    flightLocation = `grpc://127.0.0.1:${flightPort}`;
    httpBase = env.CHAINLAKE_CATALOG_URL;
    await waitForRows(env.CHAINLAKE_WAREHOUSE, 'synthetic', expectedChecksums(expectedTables(env, 0, BLOCKS - 1)), 120_000);

    files = (JSON.parse(await readFile(join(env.CHAINLAKE_WAREHOUSE, 'synthetic', 'transactions', 'manifest.json'), 'utf8')) as TableManifest).files;
    const paths = files.map((f) => `'${join(env.CHAINLAKE_WAREHOUSE, 'synthetic', 'transactions', f.path)}'`);
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    direct = lines((await conn.runAndReadAll(SQL.replace('synthetic.transactions', `read_parquet([${paths.join(', ')}])`))).getRowObjectsJson());
    conn.closeSync();
    db.closeSync();
  }, 180_000);

  afterAll(async () => {
    await Promise.all(Object.values(mesh).map((p) => p.stop()));
    const bus = await connectBus({ servers: testNatsUrl(), prefix: env.CHAINLAKE_PREFIX, name: 'e2e-cleanup' });
    await deleteStreams(bus);
    await bus.drain();
    await dropMeshSchema(env);
    await dir.remove();
  });

  it('a generic Flight client DoGet with projection and filter returns what DuckDB reads, reading only the manifests and files that can match', async () => {
    printLogsOnFailure(mesh);
    expect(direct.length).toBeGreaterThan(1000);
    const before = await (await fetch(`${httpBase}/metrics`)).text();
    const table = await genericDoGet(flightLocation, { table: 'synthetic.transactions', columns: COLUMNS, where: { block_number: { between: [LOW, HIGH] } } }, TOKEN);
    expect(table.schema.fields.map((f) => f.name)).toEqual(COLUMNS);
    expect(lines(tableRows(table))).toEqual(direct);

    const after = await (await fetch(`${httpBase}/metrics`)).text();
    const overlapping = files.filter((f) => f.end >= LOW && f.start <= HIGH).length;
    const scanned = seriesValue(after, 'chainlake_catalog_scan_files_total{result="scanned"}') - seriesValue(before, 'chainlake_catalog_scan_files_total{result="scanned"}');
    const pruned = seriesValue(after, 'chainlake_catalog_scan_files_total{result="pruned"}') - seriesValue(before, 'chainlake_catalog_scan_files_total{result="pruned"}');
    expect(scanned).toBe(overlapping);
    expect(pruned).toBe(files.length - overlapping);
    expect(pruned).toBeGreaterThan(0);
    expect(seriesValue(after, 'chainlake_catalog_scan_row_groups_total{result="pruned"}')).toBeGreaterThan(0);
    const manifestsPruned = seriesValue(after, 'chainlake_catalog_scan_manifests_total{result="pruned"}') - seriesValue(before, 'chainlake_catalog_scan_manifests_total{result="pruned"}');
    expect(manifestsPruned, 'manifests skipped by their partition summaries').toBeGreaterThan(0);
  });

  it('the published Flight SQL client and the influxdb3 client return what DuckDB reads', async () => {
    const port = Number(new URL(flightLocation).port);
    const rust = await createFlightSqlClient({ host: '127.0.0.1', port, tls: false, headers: [], token: TOKEN });
    expect(lines(tableRows(tableFromIPC(await rust.query(SQL))))).toEqual(direct);

    const influx = new InfluxDBClient({ host: `http://127.0.0.1:${port}`, token: TOKEN });
    try {
      const rows: Record<string, unknown>[] = [];
      for await (const row of influx.query(SQL.replace('synthetic.transactions', 'transactions'), 'synthetic')) rows.push(row);
      expect(lines(rows)).toEqual(direct);
    } finally {
      await influx.close();
    }
  });

  it('refuses calls without the token, and bad tickets with a clear error', async () => {
    await expect(genericDoGet(flightLocation, { table: 'synthetic.transactions' })).rejects.toThrow(/UNAUTHENTICATED/);
    const port = Number(new URL(flightLocation).port);
    await expect(createFlightSqlClient({ host: '127.0.0.1', port, tls: false, headers: [] }).then((c) => c.query('SELECT 1'))).rejects.toThrow();
    await expect(genericDoGet(flightLocation, { table: 'synthetic.transactions', columns: ['nope'] }, TOKEN)).rejects.toThrow(/INVALID_ARGUMENT.*nope/);
    await expect(genericDoGet(flightLocation, { table: 'synthetic.missing' }, TOKEN)).rejects.toThrow(/NOT_FOUND/);
  });
});

import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { DuckDBInstance } from '@duckdb/node-api';
import { Type, type Table } from 'apache-arrow';
import { connectBus, deleteStreams, HeadMessage, publishCore, type Bus } from '@chainlake/bus';
import { decode } from '@chainlake/chain-evm';
import { SyntheticChain, syntheticOptionsFromEnv } from '@chainlake/chain-synthetic';
import { HotStore } from '@chainlake/hot';
import { LocalFileIO, planFiles, RestCatalogClient } from '@chainlake/iceberg';
import { connectPostgres, type Pool } from '@chainlake/postgres';
import { evmDatasets, icebergSchema, type DatasetDef } from '@chainlake/schema';
import { freePort, spawnService, tempDir, testNatsUrl, testPgUrl, uniquePrefix, type ServiceProcess } from '@chainlake/testkit';

export const CHAIN = 'synthetic';
export const chain = new SyntheticChain(syntheticOptionsFromEnv({ CHAINLAKE_SYNTHETIC_TXS_PER_BLOCK: '10', CHAINLAKE_SYNTHETIC_LOGS_PER_TX: '2' }));

/** A catalog process, the Iceberg tables as the archiver creates them, the hot tier and the bus: what a compactor works on. */
export interface TestLake {
  env: Record<string, string>;
  warehouse: string;
  catalog: ServiceProcess;
  client: RestCatalogClient;
  bus: Bus;
  pool: Pool;
  hot: HotStore;
  close(): Promise<void>;
}

export async function startLake(label: string, partitionBlocks: number): Promise<TestLake> {
  const prefix = uniquePrefix(label);
  const dir = await tempDir(label);
  const catalogPort = await freePort();
  const env = {
    CHAINLAKE_NATS_URL: testNatsUrl(),
    CHAINLAKE_PREFIX: prefix,
    CHAINLAKE_POSTGRES_URL: testPgUrl(),
    CHAINLAKE_POSTGRES_SCHEMA: prefix,
    CHAINLAKE_WAREHOUSE: join(dir.path, 'warehouse'),
    CHAINLAKE_CHAIN: CHAIN,
    CHAINLAKE_CATALOG_URL: `http://127.0.0.1:${catalogPort}`,
    CHAINLAKE_HTTP_PORT: '0',
    CHAINLAKE_FLIGHT_PORT: '0',
  };
  const catalog = spawnService('catalog', { ...env, CHAINLAKE_HTTP_PORT: String(catalogPort) });
  await catalog.httpPort();
  const client = new RestCatalogClient({ uri: env.CHAINLAKE_CATALOG_URL });
  await client.ensureNamespace(CHAIN);
  for (const def of evmDatasets) {
    const blockField = def.columns.find((c) => c.name === def.blockColumn)!;
    // As the archiver creates its tables (apps/archiver/src/iceberg.ts).
    await client.createTable(CHAIN, def.name, {
      schema: icebergSchema(def),
      spec: { fields: [{ 'source-id': blockField.fieldId, name: 'block_number_trunc', transform: `truncate[${partitionBlocks}]` }] },
      sortOrder: { fields: [{ transform: 'identity', 'source-id': blockField.fieldId, direction: 'asc', 'null-order': 'nulls-first' }] },
      properties: { 'write.format.default': 'parquet', 'chainlake.dataset': def.name },
    });
  }
  const bus = await connectBus({ servers: testNatsUrl(), prefix, name: `${label}-test` });
  const pool = await connectPostgres({ url: testPgUrl(), schema: prefix });
  const hot = new HotStore({ pool, schema: prefix, chain: CHAIN });
  await hot.ensureTables(evmDatasets);
  return {
    env, warehouse: env.CHAINLAKE_WAREHOUSE, catalog, client, bus, pool, hot,
    async close() {
      await catalog.stop();
      await deleteStreams(bus).catch(() => undefined);
      await bus.drain();
      await pool.query(`DROP SCHEMA IF EXISTS "${prefix}" CASCADE`);
      await pool.end();
      await dir.remove();
    },
  };
}

export interface Compactor {
  process: ServiceProcess;
  base: string;
}

export async function startCompactor(lake: TestLake, env: Record<string, string> = {}): Promise<Compactor> {
  const process = spawnService('compactor', { ...lake.env, ...env });
  const base = `http://127.0.0.1:${await process.httpPort()}`;
  return { process, base };
}

/** Publishes head messages every 100 ms, as the source does; returns a function that stops them. */
export function publishHeads(bus: Bus, finalized: number): () => void {
  const send = () => publishCore(bus, bus.subjects.head(CHAIN), HeadMessage, { v: 1, chain: CHAIN, head: finalized + 64, finalized, at: new Date().toISOString() });
  send();
  const timer = setInterval(send, 100);
  return () => clearInterval(timer);
}

export interface JobReply {
  v: 1;
  ok: boolean;
  job: string;
  reason?: string;
  error?: string;
  result?: Record<string, unknown>;
}

/** A manual job over NATS, as the CLI sends it. */
export async function requestJob(bus: Bus, job: string, params: Record<string, unknown>, timeoutMs = 60_000): Promise<JobReply> {
  const msg = await bus.nc.request(bus.subjects.control('compactor', job), JSON.stringify({ v: 1, ...params }), { timeout: timeoutMs });
  return JSON.parse(new TextDecoder().decode(msg.data)) as JobReply;
}

/** The generator's typed tables of blocks [from, to]. */
export function generated(from: number, to: number): Record<string, Table> {
  return decode(chain.rawSegment(from, to), 1337) as unknown as Record<string, Table>;
}

/** Writes blocks [from, to] of the given datasets into the hot tier, as the archiver does. */
export async function writeHot(hot: HotStore, from: number, to: number, datasets: readonly string[]): Promise<void> {
  const tables = generated(from, to);
  for (const dataset of datasets) await hot.writeRange(dataset, from, to, tables[dataset]);
}

export async function hotRows(pool: Pool, dataset: string): Promise<number> {
  const { rows } = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM hot_${CHAIN}_${dataset}`);
  return Number(rows[0].n);
}

/** Live data file paths of the table's current (or a given) snapshot. */
export async function liveFiles(client: RestCatalogClient, dataset: string, snapshotId?: number): Promise<string[]> {
  const io = new LocalFileIO();
  const { metadata } = await client.loadTable(CHAIN, dataset);
  const paths: string[] = [];
  for await (const file of planFiles(metadata, io, { snapshotId })) paths.push(io.localPath(file.filePath));
  return paths.sort();
}

export async function currentSnapshotId(client: RestCatalogClient, dataset: string): Promise<number | undefined> {
  const id = (await client.loadTable(CHAIN, dataset)).metadata['current-snapshot-id'];
  return id === undefined || id === -1 ? undefined : id;
}

function canonicalSql(def: DatasetDef): string {
  return def.columns
    .map((col) => (col.type === 'timestamp' ? `coalesce(cast(epoch_us("${col.name}") as varchar), '\\N')` : `coalesce(cast("${col.name}" as varchar), '\\N')`))
    .join(` || '|' || `);
}

export interface Checksum {
  rows: number;
  distinctKeys: number;
  md5: string;
}

/** Row count, distinct sort keys and an md5 of every row in key order, read by DuckDB from the given Parquet files. */
export async function parquetChecksum(def: DatasetDef, files: readonly string[]): Promise<Checksum> {
  if (files.length === 0) return { rows: 0, distinctKeys: 0, md5: '' };
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    const key = def.sortKey.map((k) => `"${k}"`).join(', ');
    const list = files.map((f) => `'${f}'`).join(', ');
    const result = await conn.runAndReadAll(
      `SELECT count(*)::BIGINT, count(DISTINCT (${key}))::BIGINT, coalesce(md5(string_agg(${canonicalSql(def)}, chr(10) ORDER BY ${key})), '')
       FROM read_parquet([${list}])`,
    );
    const [n, k, h] = result.getRows()[0];
    return { rows: Number(n), distinctKeys: Number(k), md5: String(h) };
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

/** The same checksum of the generator's own rows. */
export function expectedChecksum(def: DatasetDef, table: Table): Checksum {
  const lines: string[] = new Array(table.numRows).fill('');
  def.columns.forEach((col, c) => {
    const vector = table.getChild(col.name)!;
    let row = 0;
    for (const data of vector.data) {
      for (let i = 0; i < data.length; i++, row++) {
        let text: string;
        if (!data.getValid(i)) text = '\\N';
        else if (vector.type.typeId === Type.Timestamp) text = String((data.values as BigInt64Array)[i]);
        else text = String(vector.get(row));
        lines[row] += (c === 0 ? '' : '|') + text;
      }
    }
  });
  return { rows: lines.length, distinctKeys: lines.length, md5: lines.length === 0 ? '' : createHash('md5').update(lines.join('\n')).digest('hex') };
}

export async function tableChecksum(lake: TestLake, def: DatasetDef, snapshotId?: number): Promise<Checksum> {
  return parquetChecksum(def, await liveFiles(lake.client, def.name, snapshotId));
}

export async function metricValue(base: string, line: RegExp): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const match = text.split('\n').find((l) => line.test(l));
  return match ? Number(match.split(' ').pop()) : 0;
}

/** Waits until the compactor has seen a head message with this finalized height. */
export async function waitForFinalized(compactor: Compactor, height: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await metricValue(compactor.base, /^chainlake_compactor_finalized_block /)) !== height) {
    if (Date.now() > deadline) throw new Error(`the compactor did not see finalized height ${height} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

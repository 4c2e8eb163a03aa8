import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { connectBus, deleteStreams, type Bus } from '@chainlake/bus';
import { RestCatalogClient, type IcebergSchema } from '@chainlake/iceberg';
import { connectPostgres, type Pool } from '@chainlake/postgres';
import { spawnService, tempDir, testNatsUrl, testPgUrl, uniquePrefix, type ServiceProcess } from '@chainlake/testkit';

export interface TestCatalog {
  service: ServiceProcess;
  /** http://127.0.0.1:<port> */
  base: string;
  client: RestCatalogClient;
  /** On the service's schema. */
  pool: Pool;
  bus: Bus;
  warehouse: string;
  prefix: string;
  stop(): Promise<void>;
}

/** A catalog service process on its own PostgreSQL schema, NATS prefix and warehouse directory. */
export async function startCatalog(label: string, env: Record<string, string> = {}): Promise<TestCatalog> {
  const prefix = uniquePrefix(label);
  const dir = await tempDir(`catalog-${label}`);
  const pool = await connectPostgres({ url: testPgUrl(), schema: prefix });
  const bus = await connectBus({ servers: testNatsUrl(), prefix, name: `test-${label}` });
  const service = spawnService('catalog', {
    CHAINLAKE_HTTP_PORT: '0',
    CHAINLAKE_FLIGHT_PORT: '0',
    CHAINLAKE_PREFIX: prefix,
    CHAINLAKE_NATS_URL: testNatsUrl(),
    CHAINLAKE_POSTGRES_URL: testPgUrl(),
    CHAINLAKE_POSTGRES_SCHEMA: prefix,
    CHAINLAKE_WAREHOUSE: dir.path,
    ...env,
  });
  const base = `http://127.0.0.1:${await service.httpPort()}`;
  return {
    service,
    base,
    client: new RestCatalogClient({ uri: base, token: env.CHAINLAKE_AUTH_TOKEN }),
    pool,
    bus,
    warehouse: dir.path,
    prefix,
    async stop() {
      const exit = await service.stop();
      await pool.query(`DROP SCHEMA IF EXISTS ${prefix} CASCADE`);
      await pool.end();
      await deleteStreams(bus);
      await bus.drain();
      await dir.remove();
      if (exit.code !== 0) throw new Error(`catalog exited with ${JSON.stringify(exit)}`);
    },
  };
}

export const blocksSchema: IcebergSchema = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'block_number', required: true, type: 'long' },
    { id: 2, name: 'hash', required: true, type: 'string' },
    { id: 3, name: 'block_timestamp', required: true, type: 'timestamptz' },
  ],
};

export const blockRangeSpec = { fields: [{ 'source-id': 1, name: 'block_range', transform: 'truncate[10000]' }] };

/** Every file under `dir`, relative, sorted. */
export async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

/** Everything the catalog keeps in PostgreSQL, for before/after comparisons. */
export async function catalogRows(pool: Pool): Promise<unknown> {
  const [namespaces, tables, commits, announcements] = await Promise.all(
    ['iceberg_namespaces', 'iceberg_tables', 'iceberg_commits', 'iceberg_announcements'].map(
      async (table) => (await pool.query(`SELECT * FROM ${table} ORDER BY 1, 2`)).rows,
    ),
  );
  return { namespaces, tables, commits, announcements };
}

export async function json(response: Response): Promise<{ status: number; body: unknown }> {
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : JSON.parse(text) };
}

import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { icebergRead } from 'icebird';
import { decode } from '@chainlake/chain-evm';
import { SyntheticChain, syntheticOptionsFromEnv } from '@chainlake/chain-synthetic';
import { RestCatalogClient } from '@chainlake/iceberg';
import { LocalWarehouse, ManifestStore, type TableManifest } from '@chainlake/lake';
import { parsePartitionScheme } from '@chainlake/partitioning';
import { connectPostgres } from '@chainlake/postgres';
import { transactions } from '@chainlake/schema';
import { allowFileFetch, spawnService, tempDir, testNatsUrl, testPgUrl, uniquePrefix, type ServiceProcess } from '@chainlake/testkit';
import { archiveSegments, blockTimestamps, reconcileTable, type ArchiveTarget, type SegmentRows } from '../src/archive.js';
import { IcebergTable } from '../src/iceberg.js';

const chain = new SyntheticChain(syntheticOptionsFromEnv({}));

function segment(from: number, to: number): SegmentRows {
  const tables = decode(chain.rawSegment(from, to), 1337);
  return { from, to, table: tables.transactions, blockTimestamps: blockTimestamps(tables.blocks) };
}

/** `block:index` of every transaction of blocks [from, to], as the generator makes them. */
function expectedKeys(from: number, to: number): string[] {
  const t = segment(from, to).table;
  const keys: string[] = [];
  for (let i = 0; i < t.numRows; i++) keys.push(`${t.getChild('block_number')!.get(i)}:${t.getChild('transaction_index')!.get(i)}`);
  return keys.sort();
}

describe('archiver → Iceberg (through the catalog service, read back by icebird)', () => {
  const prefix = uniquePrefix('arch_ice');
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let catalog: ServiceProcess;
  let client: RestCatalogClient;
  let target: ArchiveTarget;
  let restoreFetch: () => void;

  const tableUrl = () => `file://${target.warehouse.tableDir('synthetic', 'transactions')}`;
  async function icebirdKeys(metadataFileName?: string): Promise<string[]> {
    const rows = await icebergRead({ tableUrl: tableUrl(), metadataFileName });
    return rows.map((r) => `${r.block_number}:${r.transaction_index}`).sort();
  }

  beforeAll(async () => {
    dir = await tempDir('archiver-iceberg');
    catalog = spawnService('catalog', {
      CHAINLAKE_HTTP_PORT: '0', CHAINLAKE_FLIGHT_PORT: '0', CHAINLAKE_PREFIX: prefix, CHAINLAKE_NATS_URL: testNatsUrl(),
      CHAINLAKE_POSTGRES_URL: testPgUrl(), CHAINLAKE_POSTGRES_SCHEMA: prefix, CHAINLAKE_WAREHOUSE: dir.path,
    });
    client = new RestCatalogClient({ uri: `http://127.0.0.1:${await catalog.httpPort()}` });
    const warehouse = new LocalWarehouse(dir.path);
    const scheme = parsePartitionScheme('block_range:100');
    const iceberg = new IcebergTable(client, 'synthetic', transactions, scheme, warehouse.tableDir('synthetic', 'transactions'));
    await iceberg.open();
    target = { warehouse, manifests: new ManifestStore(warehouse), namespace: 'synthetic', table: 'transactions', scheme, parquet: {}, maxRowsPerFile: 1_000_000, iceberg };
    restoreFetch = allowFileFetch();
  });

  afterAll(async () => {
    restoreFetch();
    await catalog.stop();
    const pool = await connectPostgres({ url: testPgUrl(), schema: prefix });
    await pool.query(`DROP SCHEMA IF EXISTS ${prefix} CASCADE`);
    await pool.end();
    await dir.remove();
  });

  it('commits every flush as an append that a third-party reader sees, redeliveries adding nothing', async () => {
    await archiveSegments(target, [segment(0, 49)]);
    await archiveSegments(target, [segment(50, 119), segment(0, 49)]);
    await archiveSegments(target, [segment(100, 149)]);
    expect(await icebirdKeys()).toEqual(expectedKeys(0, 149));

    const { metadata } = await client.loadTable('synthetic', 'transactions');
    expect(metadata.snapshots!.map((s) => s.summary.operation)).toEqual(['append', 'append', 'append']);
    expect(metadata['partition-specs'][0].fields).toEqual([expect.objectContaining({ name: 'block_number_trunc', transform: 'truncate[100]' })]);
    // Time travel: the table as the first flush left it.
    expect(await icebirdKeys('v2.metadata.json')).toEqual(expectedKeys(0, 49));
  });

  it('does not commit a file twice when a crash lost the manifest.json record of a committed flush', async () => {
    await archiveSegments(target, [segment(150, 169)]);
    const manifestPath = join(target.warehouse.tableDir('synthetic', 'transactions'), 'manifest.json');
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as TableManifest;
    await writeFile(manifestPath, JSON.stringify({ ...manifest, files: manifest.files.slice(0, -1) }));

    expect(await reconcileTable(target)).toEqual({ adopted: 1, committed: 0 });
    await archiveSegments(target, [segment(150, 179)]);
    expect(await icebirdKeys()).toEqual(expectedKeys(0, 179));
  });

  it('commits at start what manifest.json lists but the table lacks', async () => {
    const before = await client.loadTable('synthetic', 'transactions');
    // Files recorded while the catalog was unreachable: written without an Iceberg table, then reconciled.
    await archiveSegments({ ...target, iceberg: undefined }, [segment(180, 199)]);
    expect((await client.loadTable('synthetic', 'transactions')).metadata['current-snapshot-id']).toBe(before.metadata['current-snapshot-id']);
    expect(await reconcileTable(target)).toEqual({ adopted: 0, committed: 1 });
    expect(await icebirdKeys()).toEqual(expectedKeys(0, 199));
  });

  it('refuses to start when the catalog keeps the table somewhere else than this archiver writes it', async () => {
    const other = new IcebergTable(client, 'synthetic', transactions, target.scheme, '/elsewhere/synthetic/transactions');
    await expect(other.open()).rejects.toThrow(/the catalog places synthetic\.transactions at file:\/\/.*but this archiver writes it to file:\/\/\/elsewhere.*same CHAINLAKE_WAREHOUSE/);
  });
});

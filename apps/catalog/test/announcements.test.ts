import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { CommitMessage, connectBus, deleteStreams, ensureStreams, type Bus, type Commit } from '@chainlake/bus';
import type { TableMetadata } from '@chainlake/iceberg';
import { connectPostgres } from '@chainlake/postgres';
import { createMetrics } from '@chainlake/service';
import { tempDir, testNatsUrl, testPgUrl, uniquePrefix } from '@chainlake/testkit';
import { CommitAnnouncer } from '../src/announcer.js';
import { Catalog } from '../src/catalog.js';
import { CatalogStore } from '../src/store.js';
import { CatalogWarehouse } from '../src/warehouse.js';
import { blocksSchema, startCatalog, type TestCatalog } from './helpers.js';

const appendSnapshot = (metadata: TableMetadata, id: number) => ({
  requirements: [],
  updates: [
    {
      action: 'add-snapshot' as const,
      snapshot: {
        'snapshot-id': id,
        'sequence-number': metadata['last-sequence-number'] + 1,
        'timestamp-ms': Date.now(),
        'manifest-list': `${metadata.location}/metadata/snap-${id}.avro`,
        summary: { operation: 'append' as const, 'added-records': '42' },
      },
    },
    { action: 'set-snapshot-ref' as const, 'ref-name': 'main', type: 'branch' as const, 'snapshot-id': id },
  ],
});

async function waitFor<T>(get: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await get();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The announcements the prefix's EVENTS stream holds for a table, oldest first. */
async function storedCommits(bus: Bus, namespace: string, table: string): Promise<Commit[]> {
  const consumer = await bus.js.consumers.get(bus.streams.events, { filter_subjects: bus.subjects.catalogCommits(namespace, table) });
  const commits: Commit[] = [];
  const pending = (await consumer.info()).num_pending;
  for (let i = 0; i < pending; i++) {
    const message = await consumer.next({ expires: 2_000 });
    if (message) commits.push(CommitMessage.decode(message.data));
  }
  return commits;
}

describe('commit announcements from the catalog service', () => {
  let catalog: TestCatalog;

  beforeAll(async () => {
    catalog = await startCatalog('announce');
    await catalog.client.createNamespace('eth');
    await catalog.client.createTable('eth', 'blocks', { schema: blocksSchema });
  });
  afterAll(async () => {
    await catalog?.stop();
  });

  it('announces each committed snapshot on <prefix>.catalog.<namespace>.<table>.commits, and nothing for other commits', async () => {
    const { client, bus } = catalog;
    const live: Commit[] = [];
    const subscription = bus.nc.subscribe(bus.subjects.catalogCommits('eth', 'blocks'), { callback: (_err, msg) => void live.push(CommitMessage.decode(msg.data)) });

    await client.commitTable('eth', 'blocks', { requirements: [], updates: [{ action: 'set-properties', updates: { owner: 'x' } }] });
    const first = await client.commitTable('eth', 'blocks', appendSnapshot((await client.loadTable('eth', 'blocks')).metadata, 7));
    const second = await client.commitTable('eth', 'blocks', appendSnapshot(first.metadata, 8));

    await waitFor(() => (live.length >= 2 ? true : undefined), 'two announcements');
    subscription.unsubscribe();
    expect(live).toEqual([
      {
        v: 1,
        namespace: 'eth',
        table: 'blocks',
        snapshotId: 7,
        sequenceNumber: 1,
        operation: 'append',
        summary: { operation: 'append', 'added-records': '42' },
        metadataLocation: first.metadataLocation,
        at: expect.any(String),
      },
      expect.objectContaining({ snapshotId: 8, sequenceNumber: 2, metadataLocation: second.metadataLocation }),
    ]);
    expect(await storedCommits(bus, 'eth', 'blocks')).toEqual(live);
    const pending = await catalog.pool.query('SELECT count(*)::int AS n FROM iceberg_announcements WHERE published_at IS NULL');
    expect(pending.rows[0].n).toBe(0);
  });
});

describe('commit announcements while NATS cannot take them', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('keeps the commit, counts the failure and publishes the announcement on a later retry', async () => {
    const prefix = uniquePrefix('outbox');
    const dir = await tempDir('catalog-outbox');
    cleanups.push(() => dir.remove());
    const pool = await connectPostgres({ url: testPgUrl(), schema: prefix });
    cleanups.push(async () => {
      await pool.query(`DROP SCHEMA ${prefix} CASCADE`);
      await pool.end();
    });
    // No streams yet: JetStream has nobody to store the announcement, so publishing fails.
    const bus = await connectBus({ servers: testNatsUrl(), prefix, name: 'outbox-test' });
    cleanups.push(async () => {
      await deleteStreams(bus);
      await bus.drain();
    });
    const store = await CatalogStore.open(pool);
    const metrics = createMetrics('catalog');
    const announcer = new CommitAnnouncer(bus, store, pino({ level: 'silent' }), metrics, 100);
    cleanups.push(() => announcer.stop());
    const catalog = new Catalog(store, new CatalogWarehouse(dir.path), bus.subjects, announcer, metrics);

    await catalog.createNamespace('eth', {});
    const created = await catalog.createTable('eth', { name: 'logs', schema: blocksSchema, 'stage-create': false, properties: {} });
    const committed = await catalog.commitTable('eth', 'logs', appendSnapshot(created.metadata, 11));
    expect((await catalog.loadTable('eth', 'logs')).metadata['current-snapshot-id']).toBe(11);

    const row = await waitFor(async () => {
      const { rows } = await pool.query('SELECT published_at, attempts, last_error FROM iceberg_announcements');
      return rows[0]?.attempts === 1 ? rows : undefined;
    }, 'the failed publish');
    expect(row).toEqual([{ published_at: null, attempts: 1, last_error: expect.stringMatching(/jetstream is not enabled|no responders/i) }]);
    expect((await metrics.registry.getSingleMetric('chainlake_catalog_announcements_failed_total')!.get()).values[0]?.value).toBe(1);

    await ensureStreams(bus);
    await new Promise((resolve) => setTimeout(resolve, 150)); // older than the retry interval
    expect(await announcer.retryPending()).toBe(1);
    expect(await storedCommits(bus, 'eth', 'logs')).toEqual([
      expect.objectContaining({ snapshotId: 11, metadataLocation: committed['metadata-location'] }),
    ]);
    expect(await announcer.retryPending()).toBe(0);
    expect((await metrics.registry.getSingleMetric('chainlake_catalog_announcements_pending')!.get()).values[0]?.value).toBe(0);
  });
});

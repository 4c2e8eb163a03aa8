import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RestCatalogError, RestCommitConflictError, type TableMetadata } from '@chainlake/iceberg';
import { blockRangeSpec, blocksSchema, json, listFiles, startCatalog, type TestCatalog } from './helpers.js';

const snapshotUpdate = (metadata: TableMetadata, id: number) => ({
  action: 'add-snapshot' as const,
  snapshot: {
    'snapshot-id': id,
    ...(metadata['current-snapshot-id'] !== -1 ? { 'parent-snapshot-id': metadata['current-snapshot-id'] } : {}),
    'sequence-number': metadata['last-sequence-number'] + 1,
    'timestamp-ms': Date.now(),
    'manifest-list': `${metadata.location}/metadata/snap-${id}.avro`,
    summary: { operation: 'append' as const, 'added-data-files': '1', 'total-data-files': '1', 'total-records': '10', 'total-files-size': '100' },
  },
});

describe('catalog REST API', () => {
  let catalog: TestCatalog;

  beforeAll(async () => {
    catalog = await startCatalog('rest');
  });
  afterAll(async () => {
    await catalog?.stop();
  });

  it('serves its configuration with the endpoints it supports', async () => {
    const config = await catalog.client.config();
    expect(config.defaults).toEqual({});
    expect(config.endpoints).toContain('POST /v1/{prefix}/namespaces/{namespace}/tables/{table}');
  });

  it('creates, lists, loads, updates and drops namespaces', async () => {
    const { client } = catalog;
    await client.createNamespace('eth', { owner: 'chainlake' });
    await client.ensureNamespace('eth');
    await expect(client.createNamespace('eth')).rejects.toMatchObject({ status: 409, type: 'AlreadyExistsException' });
    await client.createNamespace('scratch');
    expect(await client.listNamespaces()).toEqual(['eth', 'scratch']);
    expect(await client.loadNamespace('eth')).toEqual({ owner: 'chainlake' });
    expect(await client.namespaceExists('eth')).toBe(true);
    expect(await client.namespaceExists('nope')).toBe(false);

    const children = await json(await fetch(`${catalog.base}/v1/namespaces?parent=eth`));
    expect(children).toEqual({ status: 200, body: { namespaces: [] } });
    expect((await fetch(`${catalog.base}/v1/namespaces?parent=nope`)).status).toBe(404);

    const update = await json(
      await fetch(`${catalog.base}/v1/namespaces/eth/properties`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ removals: ['owner', 'absent'], updates: { team: 'data' } }),
      }),
    );
    expect(update).toEqual({ status: 200, body: { updated: ['team'], removed: ['owner'], missing: ['absent'] } });
    expect(await client.loadNamespace('eth')).toEqual({ team: 'data' });
    const both = await fetch(`${catalog.base}/v1/namespaces/eth/properties`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ removals: ['team'], updates: { team: 'x' } }),
    });
    expect(both.status).toBe(422);

    await client.dropNamespace('scratch');
    expect(await client.listNamespaces()).toEqual(['eth']);
    await expect(client.dropNamespace('scratch')).rejects.toMatchObject({ status: 404, type: 'NoSuchNamespaceException' });
  });

  it('creates a table with v1 metadata in the warehouse and loads it', async () => {
    const { client } = catalog;
    const created = await client.createTable('eth', 'blocks', { schema: blocksSchema, spec: blockRangeSpec, properties: { 'write.format.default': 'parquet' } });
    const location = pathToFileURL(join(catalog.warehouse, 'eth', 'blocks')).href;
    expect(created.metadataLocation).toBe(`${location}/metadata/v1.metadata.json`);
    expect(created.metadata).toMatchObject({
      'format-version': 2,
      location,
      'current-snapshot-id': -1,
      'partition-specs': [{ 'spec-id': 0, fields: [{ 'field-id': 1000, name: 'block_range', transform: 'truncate[10000]' }] }],
      properties: { 'write.format.default': 'parquet' },
    });
    const onDisk = JSON.parse(await readFile(fileURLToPath(created.metadataLocation!), 'utf8'));
    expect(onDisk).toEqual(created.metadata);
    expect(await readFile(join(catalog.warehouse, 'eth', 'blocks', 'metadata', 'version-hint.text'), 'utf8')).toBe('1');

    const loaded = await client.loadTable('eth', 'blocks');
    expect(loaded).toEqual({ metadataLocation: created.metadataLocation, metadata: created.metadata, config: {} });
    expect(await client.listTables('eth')).toEqual(['blocks']);
    expect(await client.tableExists('eth', 'blocks')).toBe(true);
    expect(await client.tableExists('eth', 'nope')).toBe(false);
    await expect(client.createTable('eth', 'blocks', { schema: blocksSchema })).rejects.toMatchObject({ status: 409, type: 'AlreadyExistsException' });
    await expect(client.createTable('nope', 'blocks', { schema: blocksSchema })).rejects.toMatchObject({ status: 404, type: 'NoSuchNamespaceException' });
    await expect(client.loadTable('eth', 'nope')).rejects.toMatchObject({ status: 404, type: 'NoSuchTableException' });
    expect((await client.ensureTable('eth', 'blocks', { schema: blocksSchema })).metadataLocation).toBe(created.metadataLocation);
  });

  it('commits: writes v<N+1>, records the previous file in metadata-log, and refuses a stale requirement with 409', async () => {
    const { client } = catalog;
    const before = await client.loadTable('eth', 'blocks');
    const committed = await client.commitTable('eth', 'blocks', {
      requirements: [
        { type: 'assert-table-uuid', uuid: before.metadata['table-uuid'] },
        { type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': null },
      ],
      updates: [snapshotUpdate(before.metadata, 101), { action: 'set-snapshot-ref', 'ref-name': 'main', type: 'branch', 'snapshot-id': 101 }],
    });
    expect(committed.metadataLocation).toMatch(/\/eth\/blocks\/metadata\/v2\.metadata\.json$/);
    expect(committed.metadata['current-snapshot-id']).toBe(101);
    expect(committed.metadata['metadata-log']).toEqual([{ 'metadata-file': before.metadataLocation, 'timestamp-ms': before.metadata['last-updated-ms'] }]);
    expect(await readFile(join(catalog.warehouse, 'eth', 'blocks', 'metadata', 'version-hint.text'), 'utf8')).toBe('2');
    expect((await client.loadTable('eth', 'blocks')).metadataLocation).toBe(committed.metadataLocation);

    const stale = client.commitTable('eth', 'blocks', {
      requirements: [{ type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': null }],
      updates: [{ action: 'set-properties', updates: { a: 'b' } }],
    });
    await expect(stale).rejects.toBeInstanceOf(RestCommitConflictError);
    await expect(stale).rejects.toThrow(/409 CommitFailedException: requirement assert-ref-snapshot-id failed: ref main exists \(snapshot 101\)/);
    expect((await client.loadTable('eth', 'blocks')).metadataLocation).toBe(committed.metadataLocation);

    const invalid = client.commitTable('eth', 'blocks', { requirements: [], updates: [{ action: 'set-current-schema', 'schema-id': 7 }] });
    await expect(invalid).rejects.toMatchObject({ status: 400, type: 'BadRequestException' });
    await expect(invalid).rejects.toThrow(/schema 7 does not exist/);
    await expect(client.commitTable('eth', 'nope', { requirements: [], updates: [] })).rejects.toMatchObject({ status: 404, type: 'NoSuchTableException' });

    const metrics = await (await fetch(`${catalog.base}/metrics`)).text();
    expect(metrics).toMatch(/^chainlake_catalog_commits_total\{result="committed"\} 1$/m);
    expect(metrics).toMatch(/^chainlake_catalog_commits_total\{result="conflict"\} 1$/m);
    expect(metrics).toMatch(/^chainlake_catalog_commits_total\{result="invalid"\} 1$/m);
  });

  it('commits to several tables in one transaction, all or nothing', async () => {
    const { client } = catalog;
    await client.createTable('eth', 'logs', { schema: blocksSchema });
    const blocks = await client.loadTable('eth', 'blocks');
    const logs = await client.loadTable('eth', 'logs');
    const transaction = (logsRequirement: unknown) =>
      fetch(`${catalog.base}/v1/transactions/commit`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          'table-changes': [
            { identifier: { namespace: ['eth'], name: 'blocks' }, requirements: [], updates: [{ action: 'set-properties', updates: { tx: '1' } }] },
            { identifier: { namespace: ['eth'], name: 'logs' }, requirements: [logsRequirement], updates: [{ action: 'set-properties', updates: { tx: '1' } }] },
          ],
        }),
      });
    expect((await transaction({ type: 'assert-table-uuid', uuid: '00000000-0000-0000-0000-000000000000' })).status).toBe(409);
    expect((await client.loadTable('eth', 'blocks')).metadataLocation).toBe(blocks.metadataLocation);

    expect((await transaction({ type: 'assert-table-uuid', uuid: logs.metadata['table-uuid'] })).status).toBe(204);
    expect((await client.loadTable('eth', 'blocks')).metadata.properties).toMatchObject({ tx: '1' });
    expect((await client.loadTable('eth', 'logs')).metadata.properties).toMatchObject({ tx: '1' });
  });

  it('finishes a staged create with an assert-create commit', async () => {
    const staged = await json(
      await fetch(`${catalog.base}/v1/namespaces/eth/tables`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'staged', schema: blocksSchema, 'stage-create': true }),
      }),
    );
    const body = staged.body as { 'metadata-location': string | null; metadata: TableMetadata };
    expect(staged.status).toBe(200);
    expect(body['metadata-location']).toBeNull();
    expect(await catalog.client.tableExists('eth', 'staged')).toBe(false);

    const m = body.metadata;
    const committed = await catalog.client.commitTable('eth', 'staged', {
      requirements: [{ type: 'assert-create' }],
      updates: [
        { action: 'assign-uuid', uuid: m['table-uuid'] },
        { action: 'upgrade-format-version', 'format-version': 2 },
        { action: 'add-schema', schema: m.schemas[0]! },
        { action: 'set-current-schema', 'schema-id': -1 },
        { action: 'add-spec', spec: m['partition-specs'][0]! },
        { action: 'set-default-spec', 'spec-id': -1 },
        { action: 'add-sort-order', 'sort-order': m['sort-orders'][0]! },
        { action: 'set-default-sort-order', 'sort-order-id': -1 },
        { action: 'set-location', location: m.location },
      ],
    });
    expect(committed.metadataLocation).toMatch(/\/eth\/staged\/metadata\/v1\.metadata\.json$/);
    expect((await catalog.client.loadTable('eth', 'staged')).metadata['table-uuid']).toBe(m['table-uuid']);
  });

  it('renames a table, keeping its location, and drops tables with and without purge', async () => {
    const { client } = catalog;
    const before = await client.loadTable('eth', 'staged');
    await client.renameTable({ namespace: 'eth', name: 'staged' }, { namespace: 'eth', name: 'renamed' });
    expect(await client.tableExists('eth', 'staged')).toBe(false);
    expect((await client.loadTable('eth', 'renamed')).metadataLocation).toBe(before.metadataLocation);
    await expect(client.renameTable({ namespace: 'eth', name: 'renamed' }, { namespace: 'eth', name: 'logs' })).rejects.toMatchObject({ status: 409 });

    await expect(client.dropNamespace('eth')).rejects.toMatchObject({ status: 409, type: 'NamespaceNotEmptyException' });
    await client.dropTable('eth', 'renamed');
    expect(await listFiles(join(catalog.warehouse, 'eth', 'staged'))).toContain('metadata/v1.metadata.json');
    await client.dropTable('eth', 'logs', { purge: true });
    expect(await listFiles(join(catalog.warehouse, 'eth', 'logs'))).toEqual([]);
    // The dropped (not purged) table's files stay, so its location cannot be reused by accident.
    await expect(client.createTable('eth', 'staged', { schema: blocksSchema })).rejects.toThrow(/already holds Iceberg metadata/);
    await expect(client.dropTable('eth', 'renamed')).rejects.toBeInstanceOf(RestCatalogError);
    expect(await client.listTables('eth')).toEqual(['blocks']);

    const kinds = (await catalog.pool.query<{ kind: string; name: string }>('SELECT kind, name FROM iceberg_commits ORDER BY id')).rows;
    expect(kinds.filter((k) => k.kind !== 'commit')).toEqual([
      { kind: 'create', name: 'blocks' },
      { kind: 'create', name: 'logs' },
      { kind: 'create', name: 'staged' },
      { kind: 'rename', name: 'renamed' },
      { kind: 'drop', name: 'renamed' },
      { kind: 'drop', name: 'logs' },
    ]);
  });

  it('says which metadata file is missing when the warehouse lost it, and still drops the table', async () => {
    const { client } = catalog;
    await client.createNamespace('lost');
    const created = await client.createTable('lost', 'blocks', { schema: blocksSchema });
    await rm(join(catalog.warehouse, 'lost'), { recursive: true, force: true });
    await expect(client.loadTable('lost', 'blocks')).rejects.toMatchObject({
      status: 500,
      serverMessage: expect.stringContaining(`metadata file ${created.metadataLocation} is missing: the warehouse and the catalog's PostgreSQL schema disagree`),
    });
    await client.dropTable('lost', 'blocks', { purge: true });
    expect(await client.listTables('lost')).toEqual([]);
  });

  it('lists tables and snapshots for people, described at /openapi.json', async () => {
    const tables = await json(await fetch(`${catalog.base}/api/tables`));
    expect(tables).toEqual({
      status: 200,
      body: {
        tables: [
          expect.objectContaining({ namespace: 'eth', name: 'blocks', currentSnapshotId: 101, rows: 10, files: 1, bytes: 100 }),
        ],
      },
    });
    const snapshots = await json(await fetch(`${catalog.base}/api/tables/eth/blocks/snapshots`));
    expect(snapshots.body).toEqual({
      snapshots: [expect.objectContaining({ id: 101, parentId: null, sequenceNumber: 1, operation: 'append', current: true })],
    });
    expect((await fetch(`${catalog.base}/api/tables/eth/nope/snapshots`)).status).toBe(404);

    const openapi = (await json(await fetch(`${catalog.base}/openapi.json`))).body as { paths: Record<string, unknown> };
    expect(Object.keys(openapi.paths)).toEqual(expect.arrayContaining(['/api/tables', '/api/tables/{namespace}/{table}/snapshots', '/v1/namespaces']));
  });
});

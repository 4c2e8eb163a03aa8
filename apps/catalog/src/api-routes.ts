import type { FastifyInstance } from 'fastify';
import { currentSnapshot, type DataFile, type Snapshot } from '@chainlake/iceberg';
import type { Catalog } from './catalog.js';

type TableParams = { Params: { namespace: string; table: string } };

const nullableInt = { type: ['integer', 'null'] };
const tableParams = {
  type: 'object',
  properties: { namespace: { type: 'string' }, table: { type: 'string' } },
  required: ['namespace', 'table'],
};
const errorResponse = {
  type: 'object',
  properties: { error: { type: 'object', properties: { message: { type: 'string' }, type: { type: 'string' }, code: { type: 'integer' } } } },
};

const tableSummary = {
  type: 'object',
  properties: {
    namespace: { type: 'string' },
    name: { type: 'string' },
    location: { type: 'string' },
    metadataLocation: { type: 'string' },
    currentSnapshotId: nullableInt,
    lastUpdated: { type: 'string', format: 'date-time' },
    rows: nullableInt,
    files: nullableInt,
    bytes: nullableInt,
  },
};

const snapshotSummary = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    parentId: nullableInt,
    sequenceNumber: { type: 'integer' },
    time: { type: 'string', format: 'date-time' },
    operation: { type: 'string' },
    current: { type: 'boolean' },
    manifestList: { type: 'string' },
    summary: { type: 'object', additionalProperties: { type: 'string' } },
  },
};

const partitionSummary = {
  type: 'object',
  properties: {
    partition: { type: 'string' },
    values: { type: 'object', additionalProperties: true },
    files: { type: 'integer' },
    rows: { type: 'integer' },
    bytes: { type: 'integer' },
  },
};

const fileSummary = {
  type: 'object',
  properties: {
    path: { type: 'string' },
    partition: { type: 'string' },
    rows: { type: 'integer' },
    bytes: { type: 'integer' },
  },
};

const MAX_FILES_PAGE = 10_000;

/** `block_range=1000000` (several fields joined by `/`), as in the files' directories. */
const partitionLabel = (file: DataFile): string =>
  Object.entries(file.partition)
    .map(([key, value]) => `${key}=${value ?? 'null'}`)
    .join('/');

/** A total of the current snapshot's summary (total-records, total-data-files, total-files-size); 0 without a snapshot. */
function total(snapshot: Snapshot | undefined, key: string): number | null {
  if (!snapshot) return 0;
  const value = Number(snapshot.summary[key]);
  return snapshot.summary[key] !== undefined && Number.isSafeInteger(value) ? value : null;
}

/** The HTTP API for people and dashboards, under /api, described in /openapi.json. */
export function humanApiRoutes(app: FastifyInstance, catalog: Catalog): void {
  app.get(
    '/tables',
    {
      schema: {
        tags: ['tables'],
        summary: 'Every table with its current snapshot and size',
        response: { 200: { type: 'object', properties: { tables: { type: 'array', items: tableSummary } } } },
      },
    },
    async () => ({
      tables: (await catalog.allTables()).map(({ row, metadata }) => {
        const snapshot = currentSnapshot(metadata);
        return {
          namespace: row.namespace,
          name: row.name,
          location: row.location,
          metadataLocation: row.metadataLocation,
          currentSnapshotId: snapshot?.['snapshot-id'] ?? null,
          lastUpdated: new Date(metadata['last-updated-ms']).toISOString(),
          rows: total(snapshot, 'total-records'),
          files: total(snapshot, 'total-data-files'),
          bytes: total(snapshot, 'total-files-size'),
        };
      }),
    }),
  );

  app.get<TableParams>(
    '/tables/:namespace/:table/snapshots',
    {
      schema: {
        tags: ['tables'],
        summary: "A table's snapshots, oldest first",
        params: tableParams,
        response: { 200: { type: 'object', properties: { snapshots: { type: 'array', items: snapshotSummary } } }, 404: errorResponse },
      },
    },
    async (req) => {
      const { metadata } = await catalog.loadTable(req.params.namespace, req.params.table);
      const current = metadata['current-snapshot-id'];
      return {
        snapshots: (metadata.snapshots ?? []).map((s) => ({
          id: s['snapshot-id'],
          parentId: s['parent-snapshot-id'] ?? null,
          sequenceNumber: s['sequence-number'],
          time: new Date(s['timestamp-ms']).toISOString(),
          operation: s.summary.operation,
          current: s['snapshot-id'] === current,
          manifestList: s['manifest-list'],
          summary: s.summary,
        })),
      };
    },
  );

  app.get<TableParams>(
    '/tables/:namespace/:table/partitions',
    {
      schema: {
        tags: ['tables'],
        summary: "The partitions of a table's current snapshot, with their file count, rows and bytes",
        params: tableParams,
        response: {
          200: { type: 'object', properties: { snapshotId: nullableInt, partitions: { type: 'array', items: partitionSummary } } },
          404: errorResponse,
        },
      },
    },
    async (req) => {
      const { snapshotId, files } = await catalog.currentFiles(req.params.namespace, req.params.table);
      const partitions = new Map<string, { partition: string; values: DataFile['partition']; files: number; rows: number; bytes: number }>();
      for await (const file of files) {
        const label = partitionLabel(file);
        const entry = partitions.get(label) ?? { partition: label, values: file.partition, files: 0, rows: 0, bytes: 0 };
        entry.files++;
        entry.rows += file.recordCount;
        entry.bytes += file.fileSizeInBytes;
        partitions.set(label, entry);
      }
      return { snapshotId, partitions: [...partitions.values()].sort((a, b) => (a.partition < b.partition ? -1 : a.partition > b.partition ? 1 : 0)) };
    },
  );

  app.get<TableParams & { Querystring: { limit: number; offset: number } }>(
    '/tables/:namespace/:table/files',
    {
      schema: {
        tags: ['tables'],
        summary: "The data files of a table's current snapshot, a page at a time (in manifest order)",
        params: tableParams,
        querystring: {
          type: 'object',
          properties: { limit: { type: 'integer', minimum: 1, maximum: MAX_FILES_PAGE, default: 1000 }, offset: { type: 'integer', minimum: 0, default: 0 } },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              snapshotId: nullableInt,
              offset: { type: 'integer' },
              files: { type: 'array', items: fileSummary },
              more: { type: 'boolean', description: 'true when files follow this page' },
            },
          },
          404: errorResponse,
        },
      },
    },
    async (req) => {
      const { limit, offset } = req.query;
      const { snapshotId, files } = await catalog.currentFiles(req.params.namespace, req.params.table);
      const page: { path: string; partition: string; rows: number; bytes: number }[] = [];
      let index = 0;
      let more = false;
      for await (const file of files) {
        if (index++ < offset) continue;
        if (page.length === limit) {
          more = true;
          break;
        }
        page.push({ path: file.filePath, partition: partitionLabel(file), rows: file.recordCount, bytes: file.fileSizeInBytes });
      }
      return { snapshotId, offset, files: page, more };
    },
  );
}

import {
  appendMetadataLog,
  applyUpdates,
  currentSnapshot,
  checkRequirements,
  CommitConflictError,
  emptyTableMetadata,
  InvalidCommitError,
  metadataFileName,
  newTableMetadata,
  planFiles,
  writeMetadataFiles,
  type DataFile,
  type FileIO,
  type TableMetadata,
  type TableUpdate,
} from '@chainlake/iceberg';
import type { Commit, Subjects } from '@chainlake/bus';
import type { Metrics } from '@chainlake/service';
import type { z } from 'zod';
import {
  alreadyExists,
  badRequest,
  CatalogError,
  commitFailed,
  namespaceNotEmpty,
  noSuchNamespace,
  noSuchTable,
  unprocessable,
} from './errors.js';
import { checkNamespace, checkTableName } from './names.js';
import type { CommitTableBody, CreateTableRequest } from './requests.js';
import type { CatalogStore, PendingAnnouncement, TableRow } from './store.js';
import type { CatalogWarehouse } from './warehouse.js';

export interface TableIdent {
  namespace: string;
  name: string;
}

/** LoadTableResult of the REST spec; `metadata-location` is null for a staged create. */
export interface LoadTableResult {
  'metadata-location': string | null;
  metadata: TableMetadata;
  config: Record<string, string>;
}

export interface CommitResult {
  'metadata-location': string;
  metadata: TableMetadata;
}

/** Publishes commit announcements after their transaction committed; never throws. */
export interface Announcer {
  announce(pending: PendingAnnouncement[]): void;
}

const DEFAULT_PREVIOUS_VERSIONS_MAX = 100;

const tableKey = (t: TableIdent): string => `${t.namespace}.${t.name}`;

/** The REST catalog's operations on the store and the warehouse, independent of HTTP. */
export class Catalog {
  private readonly commits;
  private readonly io: FileIO;

  constructor(
    private readonly store: CatalogStore,
    private readonly warehouse: CatalogWarehouse,
    private readonly subjects: Subjects,
    private readonly announcer: Announcer,
    metrics: Metrics,
  ) {
    this.io = warehouse.fileIO();
    this.commits = metrics.counter('commits_total', 'Table commits by result (committed, conflict, invalid, not_found, failed)', ['result']);
  }

  /** Top-level namespaces; with a parent, its children (none: namespaces have one level). */
  async listNamespaces(parent?: string): Promise<string[][]> {
    if (parent !== undefined) {
      await this.loadNamespace(parent);
      return [];
    }
    return (await this.store.listNamespaces()).map((name) => [name]);
  }

  async createNamespace(namespace: string, properties: Record<string, string>): Promise<{ namespace: string[]; properties: Record<string, string> }> {
    checkNamespace(namespace);
    if (!(await this.store.createNamespace(namespace, properties))) {
      throw alreadyExists(`namespace ${JSON.stringify(namespace)} already exists`);
    }
    return { namespace: [namespace], properties };
  }

  async loadNamespace(namespace: string): Promise<{ namespace: string[]; properties: Record<string, string> }> {
    checkNamespace(namespace);
    const properties = await this.store.namespaceProperties(namespace);
    if (!properties) throw noSuchNamespace(namespace);
    return { namespace: [namespace], properties };
  }

  async dropNamespace(namespace: string): Promise<void> {
    checkNamespace(namespace);
    await this.store.transaction(async (tx) => {
      if (!(await tx.namespaceProperties(namespace, 'update'))) throw noSuchNamespace(namespace);
      if ((await tx.countTables(namespace)) > 0) throw namespaceNotEmpty(namespace);
      await tx.dropNamespace(namespace);
    });
  }

  async updateNamespaceProperties(
    namespace: string,
    change: { removals: string[]; updates: Record<string, string> },
  ): Promise<{ updated: string[]; removed: string[]; missing: string[] }> {
    checkNamespace(namespace);
    const both = change.removals.filter((key) => key in change.updates);
    if (both.length > 0) throw unprocessable(`properties both updated and removed: ${both.join(', ')}`);
    return this.store.transaction(async (tx) => {
      const properties = await tx.namespaceProperties(namespace, 'update');
      if (!properties) throw noSuchNamespace(namespace);
      const removed = change.removals.filter((key) => key in properties);
      const missing = change.removals.filter((key) => !(key in properties));
      for (const key of removed) delete properties[key];
      Object.assign(properties, change.updates);
      await tx.setNamespaceProperties(namespace, properties);
      return { updated: Object.keys(change.updates), removed, missing };
    });
  }

  async listTables(namespace: string): Promise<{ namespace: string[]; name: string }[]> {
    await this.loadNamespace(namespace);
    return (await this.store.listTables(namespace)).map((row) => ({ namespace: [row.namespace], name: row.name }));
  }

  /** Every table's name, without reading its metadata. */
  async allTableNames(): Promise<TableIdent[]> {
    return (await this.store.listTables()).map(({ namespace, name }) => ({ namespace, name }));
  }

  /** Every table with its current metadata, for the human API. */
  async allTables(): Promise<{ row: TableRow; metadata: TableMetadata }[]> {
    const rows = await this.store.listTables();
    return Promise.all(rows.map(async (row) => ({ row, metadata: await this.warehouse.readMetadata(row.metadataLocation) })));
  }

  /** Creates the table with metadata v1; with stage-create, only returns the metadata a create transaction starts from. */
  async createTable(namespace: string, request: z.infer<typeof CreateTableRequest>): Promise<LoadTableResult> {
    checkNamespace(namespace);
    const name = checkTableName(request.name);
    const location = request.location === undefined ? this.warehouse.defaultLocation(namespace, name) : this.warehouse.normalizeLocation(request.location);
    let metadata: TableMetadata;
    try {
      metadata = newTableMetadata({
        location,
        schema: request.schema,
        spec: request['partition-spec'],
        sortOrder: request['write-order'],
        properties: request.properties,
      });
    } catch (err) {
      throw asCatalogError(err);
    }
    if (request['stage-create']) {
      await this.loadNamespace(namespace);
      if (await this.store.table(namespace, name)) throw alreadyExists(`table ${JSON.stringify(`${namespace}.${name}`)} already exists`);
      return { 'metadata-location': null, metadata, config: {} };
    }
    const written = await this.store.transaction((tx) => this.insertTable(tx, { namespace, name }, metadata, []));
    return { 'metadata-location': written.metadataLocation, metadata, config: {} };
  }

  async loadTable(namespace: string, name: string): Promise<LoadTableResult> {
    const row = await this.existingTable(namespace, name);
    return { 'metadata-location': row.metadataLocation, metadata: await this.warehouse.readMetadata(row.metadataLocation), config: {} };
  }

  /** The current snapshot's id (null without one) and its live data files, read one manifest at a time. */
  async currentFiles(namespace: string, name: string): Promise<{ snapshotId: number | null; files: AsyncIterable<DataFile> }> {
    const { metadata } = await this.loadTable(namespace, name);
    return { snapshotId: currentSnapshot(metadata)?.['snapshot-id'] ?? null, files: planFiles(metadata, this.io) };
  }

  async tableExists(namespace: string, name: string): Promise<void> {
    await this.existingTable(namespace, name);
  }

  /**
   * Commits requirements + updates to one table atomically: the table's row is locked, the requirements are
   * checked against its current metadata, the updates applied, v<N+1>.metadata.json written and the row
   * pointed at it, all in one PostgreSQL transaction. A commit with `assert-create` to a missing table
   * creates it (the end of a staged create).
   */
  async commitTable(namespace: string, name: string, body: CommitTableBody): Promise<CommitResult> {
    const ident = { namespace: checkNamespace(namespace), name: checkTableName(name) };
    const { result, announcements } = await this.countCommit(() =>
      this.store.transaction(async (tx) => {
        const announcements: PendingAnnouncement[] = [];
        const result = await this.commitLocked(tx, ident, body, announcements);
        return { result, announcements };
      }),
    );
    this.announcer.announce(announcements);
    return result;
  }

  /** Commits to several tables in one PostgreSQL transaction: all or none. */
  async commitTransaction(changes: (TableIdent & { body: CommitTableBody })[]): Promise<void> {
    const seen = new Set<string>();
    for (const change of changes) {
      checkNamespace(change.namespace);
      checkTableName(change.name);
      if (seen.has(tableKey(change))) throw badRequest(`table ${tableKey(change)} appears twice in one transaction`);
      seen.add(tableKey(change));
    }
    // Rows are locked in one global order, so two transactions over the same tables cannot deadlock.
    const ordered = [...changes].sort((a, b) => (tableKey(a) < tableKey(b) ? -1 : 1));
    const announcements = await this.countCommit(() =>
      this.store.transaction(async (tx) => {
        const pending: PendingAnnouncement[] = [];
        for (const change of ordered) await this.commitLocked(tx, change, change.body, pending);
        return pending;
      }),
    );
    this.announcer.announce(announcements);
  }

  async dropTable(namespace: string, name: string, purge: boolean): Promise<void> {
    checkNamespace(namespace);
    checkTableName(name);
    const row = await this.store.transaction(async (tx) => {
      const row = await tx.table(namespace, name, true);
      if (!row) throw noSuchTable(namespace, name);
      await tx.deleteTable(namespace, name);
      await tx.recordCommit({
        namespace,
        name,
        tableUuid: row.tableUuid,
        kind: 'drop',
        metadataVersion: row.metadataVersion,
        metadataLocation: row.metadataLocation,
        previousMetadataLocation: row.metadataLocation,
        snapshotIds: [],
      });
      return row;
    });
    if (purge) await this.warehouse.purge(row.location);
  }

  /** The table keeps its location; only its name changes. */
  async renameTable(from: TableIdent, to: TableIdent): Promise<void> {
    checkNamespace(from.namespace);
    checkTableName(from.name);
    checkNamespace(to.namespace);
    checkTableName(to.name);
    await this.store.transaction(async (tx) => {
      const row = await tx.table(from.namespace, from.name, true);
      if (!row) throw noSuchTable(from.namespace, from.name);
      if (!(await tx.namespaceProperties(to.namespace, 'share'))) throw noSuchNamespace(to.namespace);
      if (await tx.table(to.namespace, to.name)) throw alreadyExists(`table ${JSON.stringify(tableKey(to))} already exists`);
      await tx.renameTable(from, to);
      await tx.recordCommit({
        namespace: to.namespace,
        name: to.name,
        tableUuid: row.tableUuid,
        kind: 'rename',
        metadataVersion: row.metadataVersion,
        metadataLocation: row.metadataLocation,
        previousMetadataLocation: row.metadataLocation,
        snapshotIds: [],
      });
    });
  }

  private async existingTable(namespace: string, name: string): Promise<TableRow> {
    checkNamespace(namespace);
    checkTableName(name);
    const row = await this.store.table(namespace, name);
    if (!row) throw noSuchTable(namespace, name);
    return row;
  }

  private async countCommit<T>(commit: () => Promise<T>): Promise<T> {
    try {
      const result = await commit();
      this.commits.inc({ result: 'committed' });
      return result;
    } catch (err) {
      const error = asCatalogError(err);
      const result = !(error instanceof CatalogError)
        ? 'failed'
        : error.status === 409
          ? 'conflict'
          : error.status === 404
            ? 'not_found'
            : 'invalid';
      this.commits.inc({ result });
      throw error;
    }
  }

  private async commitLocked(tx: CatalogStore, ident: TableIdent, body: CommitTableBody, announcements: PendingAnnouncement[]): Promise<CommitResult> {
    const row = await tx.table(ident.namespace, ident.name, true);
    if (!row) {
      if (!body.requirements.some((r) => r.type === 'assert-create')) throw noSuchTable(ident.namespace, ident.name);
      this.checkSnapshotLocations(body.updates);
      checkRequirements(undefined, body.requirements);
      const metadata = applyUpdates(emptyTableMetadata(), body.updates);
      const written = await this.insertTable(tx, ident, { ...metadata, location: this.warehouse.normalizeLocation(metadata.location) }, announcements, body.updates);
      return { 'metadata-location': written.metadataLocation, metadata: written.metadata };
    }
    this.checkSnapshotLocations(body.updates);
    const base = await this.warehouse.readMetadata(row.metadataLocation);
    checkRequirements(base, body.requirements);
    if (body.updates.length === 0) return { 'metadata-location': row.metadataLocation, metadata: base };
    const updated = applyUpdates(base, body.updates);
    const keep = Number(updated.properties?.['write.metadata.previous-versions-max'] ?? DEFAULT_PREVIOUS_VERSIONS_MAX);
    const metadata = appendMetadataLog(
      { ...updated, location: this.warehouse.normalizeLocation(updated.location) },
      row.metadataLocation,
      base['last-updated-ms'],
      Number.isSafeInteger(keep) && keep > 0 ? keep : DEFAULT_PREVIOUS_VERSIONS_MAX,
    );
    const version = row.metadataVersion + 1;
    const metadataLocation = `${metadata.location}/metadata/${metadataFileName(version)}`;
    await writeMetadataFiles(await this.warehouse.createMetadataDir(metadata.location), version, metadata);
    await tx.moveTablePointer(ident.namespace, ident.name, { location: metadata.location, metadataLocation, metadataVersion: version });
    const snapshotIds = addedSnapshotIds(body.updates);
    const commitId = await tx.recordCommit({
      ...ident,
      tableUuid: row.tableUuid,
      kind: 'commit',
      metadataVersion: version,
      metadataLocation,
      previousMetadataLocation: row.metadataLocation,
      snapshotIds,
    });
    await this.queueAnnouncements(tx, commitId, ident, metadata, metadataLocation, snapshotIds, announcements);
    return { 'metadata-location': metadataLocation, metadata };
  }

  /** The catalog reads manifest lists (human API, scans): never from outside the warehouse. */
  private checkSnapshotLocations(updates: TableUpdate[]): void {
    for (const update of updates) if (update.action === 'add-snapshot') this.warehouse.pathOf(update.snapshot['manifest-list']);
  }

  /** Registers a new table and writes its v1 metadata; the namespace must exist and the location be free. */
  private async insertTable(
    tx: CatalogStore,
    ident: TableIdent,
    metadata: TableMetadata,
    announcements: PendingAnnouncement[],
    updates: TableUpdate[] = [],
  ): Promise<{ metadataLocation: string; metadata: TableMetadata }> {
    if (!(await tx.namespaceProperties(ident.namespace, 'share'))) throw noSuchNamespace(ident.namespace);
    const taken = await tx.tableOverlapping(metadata.location);
    if (taken) throw alreadyExists(`location ${metadata.location} overlaps table ${tableKey(taken)} at ${taken.location}`);
    if (await this.warehouse.hasMetadata(metadata.location)) {
      throw alreadyExists(
        `location ${metadata.location} already holds Iceberg metadata (of a table dropped without purgeRequested=true?); remove it or choose another location`,
      );
    }
    const metadataLocation = `${metadata.location}/metadata/${metadataFileName(1)}`;
    const inserted = await tx.insertTable({
      ...ident,
      tableUuid: metadata['table-uuid'],
      location: metadata.location,
      metadataLocation,
      metadataVersion: 1,
    });
    if (!inserted) throw alreadyExists(`table ${JSON.stringify(tableKey(ident))} already exists`);
    await writeMetadataFiles(await this.warehouse.createMetadataDir(metadata.location), 1, metadata);
    const snapshotIds = addedSnapshotIds(updates);
    const commitId = await tx.recordCommit({
      ...ident,
      tableUuid: metadata['table-uuid'],
      kind: 'create',
      metadataVersion: 1,
      metadataLocation,
      previousMetadataLocation: null,
      snapshotIds,
    });
    await this.queueAnnouncements(tx, commitId, ident, metadata, metadataLocation, snapshotIds, announcements);
    return { metadataLocation, metadata };
  }

  private async queueAnnouncements(
    tx: CatalogStore,
    commitId: string,
    ident: TableIdent,
    metadata: TableMetadata,
    metadataLocation: string,
    snapshotIds: number[],
    announcements: PendingAnnouncement[],
  ): Promise<void> {
    const at = new Date().toISOString();
    for (const id of snapshotIds) {
      const snapshot = metadata.snapshots?.find((s) => s['snapshot-id'] === id);
      if (!snapshot) continue;
      const payload: Commit = {
        v: 1,
        namespace: ident.namespace,
        table: ident.name,
        snapshotId: id,
        sequenceNumber: snapshot['sequence-number'],
        operation: snapshot.summary.operation,
        summary: snapshot.summary,
        metadataLocation,
        at,
      };
      announcements.push(
        await tx.queueAnnouncement(commitId, {
          subject: this.subjects.catalogCommits(ident.namespace, ident.name),
          msgId: `${metadata['table-uuid']}:${id}`,
          payload,
        }),
      );
    }
  }
}

function addedSnapshotIds(updates: TableUpdate[]): number[] {
  return updates.flatMap((u) => (u.action === 'add-snapshot' ? [u.snapshot['snapshot-id']] : []));
}

/** The library's commit errors as REST errors; anything else stays as it is (a 500). */
function asCatalogError(err: unknown): unknown {
  if (err instanceof CommitConflictError) return commitFailed(err.message);
  if (err instanceof InvalidCommitError) return badRequest(err.message);
  return err;
}

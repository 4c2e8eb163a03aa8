import { randomUUID } from 'node:crypto';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseTransform, transformResultType } from '@chainlake/partitioning';
import { CommitConflictError, InvalidCommitError } from './errors.js';
import type {
  IcebergSchema,
  IcebergSchemaField,
  PartitionField,
  PartitionSpec,
  Snapshot,
  SnapshotRef,
  SortField,
  SortOrder,
  TableMetadata,
  TableRequirement,
  TableUpdate,
} from './types.js';

export const MAIN_BRANCH = 'main';
/** Partition field ids start here (spec: "1000 for v2 partition field ids"), so they never collide with column ids. */
export const FIRST_PARTITION_FIELD_ID = 1000;

/** A partition field before the table assigns its id. */
export interface UnboundPartitionField {
  'source-id': number;
  name: string;
  transform: string;
}

export interface NewTableOptions {
  /** Table location URI, e.g. `file:///warehouse/eth/transactions` or `http://host/eth/transactions`. */
  location: string;
  /** Field ids are kept as given: they are the columns' permanent ids that the Parquet files carry. */
  schema: IcebergSchema;
  spec?: { fields: UnboundPartitionField[] };
  sortOrder?: { fields: SortField[] };
  properties?: Record<string, string>;
  uuid?: string;
  nowMs?: number;
}

/** The metadata of a new table (format v2, no snapshot yet): schema id 0, spec id 0 with partition field ids from 1000. */
export function newTableMetadata(options: NewTableOptions): TableMetadata {
  const { location, schema } = options;
  requireNonEmptyString(location, 'table location');
  const nowMs = options.nowMs ?? Date.now();
  const boundSchema: IcebergSchema = { ...schema, 'schema-id': 0 };
  validateSchema(boundSchema, 'schema');
  const spec: PartitionSpec = {
    'spec-id': 0,
    fields: (options.spec?.fields ?? []).map((f, i) => ({
      'source-id': f['source-id'],
      'field-id': FIRST_PARTITION_FIELD_ID + i,
      name: f.name,
      transform: f.transform,
    })),
  };
  validateSpec(spec, boundSchema, 'partition spec');
  const sortFields = options.sortOrder?.fields ?? [];
  const sortOrder: SortOrder = { 'order-id': sortFields.length === 0 ? 0 : 1, fields: sortFields };
  validateSortOrder(sortOrder, boundSchema, 'sort order');
  return {
    'format-version': 2,
    'table-uuid': options.uuid ?? randomUUID(),
    location,
    'last-sequence-number': 0,
    'last-updated-ms': nowMs,
    'last-column-id': maxFieldId(boundSchema),
    'current-schema-id': 0,
    schemas: [boundSchema],
    'default-spec-id': 0,
    'partition-specs': [spec],
    'last-partition-id': spec.fields.length === 0 ? FIRST_PARTITION_FIELD_ID - 1 : FIRST_PARTITION_FIELD_ID + spec.fields.length - 1,
    'default-sort-order-id': sortOrder['order-id'],
    'sort-orders': [sortOrder],
    properties: { ...(options.properties ?? {}) },
    'current-snapshot-id': -1,
    snapshots: [],
    'snapshot-log': [],
    'metadata-log': [],
    refs: {},
  };
}

/**
 * The starting point of a REST "create table" transaction (requirement assert-create), whose updates
 * (assign-uuid, add-schema, set-current-schema, add-spec, …, set-location) build the whole table:
 * `applyUpdates(emptyTableMetadata(), updates)`. Not a valid table by itself.
 */
export function emptyTableMetadata(nowMs = Date.now()): TableMetadata {
  return {
    'format-version': 2,
    'table-uuid': '',
    location: '',
    'last-sequence-number': 0,
    'last-updated-ms': nowMs,
    'last-column-id': 0,
    'current-schema-id': -1,
    schemas: [],
    'default-spec-id': -1,
    'partition-specs': [],
    'last-partition-id': FIRST_PARTITION_FIELD_ID - 1,
    'default-sort-order-id': -1,
    'sort-orders': [],
    properties: {},
    'current-snapshot-id': -1,
    snapshots: [],
    'snapshot-log': [],
    'metadata-log': [],
    refs: {},
  };
}

/** The snapshot a ref points at, or undefined; a metadata file without refs still has `main` through current-snapshot-id. */
export function refSnapshotId(metadata: TableMetadata, ref: string): number | undefined {
  const found = metadata.refs?.[ref];
  if (found) return found['snapshot-id'];
  if (ref === MAIN_BRANCH && metadata.refs === undefined) {
    const current = metadata['current-snapshot-id'];
    if (current !== undefined && current !== -1) return current;
  }
  return undefined;
}

/**
 * Checks REST commit requirements against the table's current metadata (undefined: the table does not exist).
 * A failed requirement throws CommitConflictError (409); an unknown or malformed one InvalidCommitError (400).
 */
export function checkRequirements(base: TableMetadata | undefined, requirements: TableRequirement[]): void {
  if (!Array.isArray(requirements)) throw new InvalidCommitError('requirements must be an array');
  for (const requirement of requirements) {
    if (requirement === null || typeof requirement !== 'object') {
      throw new InvalidCommitError(`requirement ${JSON.stringify(requirement)} is not an object`);
    }
    const r = requirement as TableRequirement & Record<string, unknown>;
    const fail = (why: string) => new CommitConflictError(`requirement ${r.type} failed: ${why}`);
    const expect = (key: string, actual: number) => {
      const expected = r[key];
      requireInt(expected, `requirement ${r.type}: ${key}`);
      if (base === undefined) throw fail('the table does not exist');
      if (expected !== actual) throw fail(`${key} is ${actual}, expected ${expected}`);
    };
    switch (r.type) {
      case 'assert-create':
        if (base !== undefined) throw fail('the table already exists');
        break;
      case 'assert-table-uuid': {
        requireNonEmptyString(r.uuid, 'requirement assert-table-uuid: uuid');
        if (base === undefined) throw fail('the table does not exist');
        if (base['table-uuid'].toLowerCase() !== r.uuid.toLowerCase()) {
          throw fail(`table uuid is ${base['table-uuid']}, expected ${r.uuid}`);
        }
        break;
      }
      case 'assert-ref-snapshot-id': {
        requireNonEmptyString(r.ref, 'requirement assert-ref-snapshot-id: ref');
        const expected = r['snapshot-id'];
        if (expected !== null) requireInt(expected, 'requirement assert-ref-snapshot-id: snapshot-id');
        if (base === undefined) throw fail('the table does not exist');
        const actual = refSnapshotId(base, r.ref);
        if (expected === null) {
          if (actual !== undefined) throw fail(`ref ${r.ref} exists (snapshot ${actual}), expected none`);
        } else if (actual === undefined) {
          throw fail(`ref ${r.ref} does not exist, expected snapshot ${expected}`);
        } else if (actual !== expected) {
          throw fail(`ref ${r.ref} is at snapshot ${actual}, expected ${expected}`);
        }
        break;
      }
      case 'assert-last-assigned-field-id':
        expect('last-assigned-field-id', base?.['last-column-id'] ?? 0);
        break;
      case 'assert-current-schema-id':
        expect('current-schema-id', base?.['current-schema-id'] ?? 0);
        break;
      case 'assert-last-assigned-partition-id':
        expect('last-assigned-partition-id', base?.['last-partition-id'] ?? 0);
        break;
      case 'assert-default-spec-id':
        expect('default-spec-id', base?.['default-spec-id'] ?? 0);
        break;
      case 'assert-default-sort-order-id':
        expect('default-sort-order-id', base?.['default-sort-order-id'] ?? 0);
        break;
      default:
        throw new InvalidCommitError(`unknown requirement type ${JSON.stringify((r as { type: unknown }).type)}`);
    }
  }
}

/**
 * Applies REST commit updates in order and returns the new metadata (base is not modified). Follows the
 * reference implementation: -1 in set-current-schema / set-default-spec / set-default-sort-order means the
 * one added earlier in the same commit; an added schema, spec or sort order identical to an existing one
 * reuses its id; set-snapshot-ref on `main` moves current-snapshot-id and appends to snapshot-log;
 * remove-snapshots also drops refs left dangling. Any invalid update throws InvalidCommitError naming it.
 */
export function applyUpdates(base: TableMetadata, updates: TableUpdate[], nowMs = Date.now()): TableMetadata {
  if (!Array.isArray(updates)) throw new InvalidCommitError('updates must be an array');
  const m: TableMetadata = structuredClone(base);
  m.snapshots ??= [];
  m['snapshot-log'] ??= [];
  const current = m['current-snapshot-id'];
  const refs = (m.refs ??= current !== undefined && current !== -1 ? { [MAIN_BRANCH]: { 'snapshot-id': current, type: 'branch' } } : {});
  const properties = (m.properties ??= {});
  let lastAddedSchemaId: number | undefined;
  let lastAddedSpecId: number | undefined;
  let lastAddedSortOrderId: number | undefined;
  const addedSnapshots = new Map<number, Snapshot>();

  updates.forEach((update, index) => {
    if (update === null || typeof update !== 'object') {
      throw new InvalidCommitError(`update #${index} ${JSON.stringify(update)} is not an object`);
    }
    const u = update as TableUpdate & Record<string, unknown>;
    const where = `update #${index} ${u.action}`;
    const invalid = (why: string) => new InvalidCommitError(`${where}: ${why}`);
    switch (u.action) {
      case 'assign-uuid':
        requireNonEmptyString(u.uuid, `${where}: uuid`);
        if (m['table-uuid'] !== '' && m['table-uuid'].toLowerCase() !== u.uuid.toLowerCase()) {
          throw invalid(`cannot reassign table uuid ${m['table-uuid']} to ${u.uuid}`);
        }
        m['table-uuid'] = u.uuid;
        break;
      case 'upgrade-format-version':
        requireInt(u['format-version'], `${where}: format-version`);
        if (u['format-version'] < m['format-version']) throw invalid(`cannot downgrade format version from ${m['format-version']}`);
        if (u['format-version'] !== 2) throw invalid(`format version ${u['format-version']} is not supported (only 2)`);
        break;
      case 'add-schema': {
        const schema = u.schema;
        if (schema === null || typeof schema !== 'object' || !Array.isArray(schema.fields)) throw invalid('schema must be a struct with fields');
        if (u['last-column-id'] !== undefined) requireInt(u['last-column-id'], `${where}: last-column-id`);
        const existing = m.schemas.find((s) => sameJson(withoutKey(s, 'schema-id'), withoutKey(schema, 'schema-id')));
        if (existing) {
          lastAddedSchemaId = existing['schema-id'];
          break;
        }
        const schemaId = m.schemas.reduce((max, s) => Math.max(max, s['schema-id']), -1) + 1;
        const added: IcebergSchema = { ...structuredClone(schema), type: 'struct', 'schema-id': schemaId };
        validateSchema(added, where);
        m.schemas.push(added);
        m['last-column-id'] = Math.max(m['last-column-id'], u['last-column-id'] ?? 0, maxFieldId(added));
        lastAddedSchemaId = schemaId;
        break;
      }
      case 'set-current-schema': {
        const id = resolveLastAdded(u['schema-id'], lastAddedSchemaId, where, 'schema-id', 'schema');
        if (!m.schemas.some((s) => s['schema-id'] === id)) throw invalid(`schema ${id} does not exist`);
        m['current-schema-id'] = id;
        break;
      }
      case 'add-spec': {
        const spec = u.spec;
        if (spec === null || typeof spec !== 'object' || !Array.isArray(spec.fields)) throw invalid('spec must have fields');
        let nextFieldId = Math.max(m['last-partition-id'], FIRST_PARTITION_FIELD_ID - 1) + 1;
        const fields: PartitionField[] = spec.fields.map((f) => ({
          'source-id': f['source-id'],
          'field-id': (f as Partial<PartitionField>)['field-id'] ?? nextFieldId++,
          name: f.name,
          transform: f.transform,
        }));
        const existing = m['partition-specs'].find((s) => sameJson(s.fields, fields));
        if (existing) {
          lastAddedSpecId = existing['spec-id'];
          break;
        }
        const specId = m['partition-specs'].reduce((max, s) => Math.max(max, s['spec-id']), -1) + 1;
        const added: PartitionSpec = { 'spec-id': specId, fields };
        validateSpec(added, currentSchema(m, where), where);
        m['partition-specs'].push(added);
        m['last-partition-id'] = fields.reduce((max, f) => Math.max(max, f['field-id']), m['last-partition-id']);
        lastAddedSpecId = specId;
        break;
      }
      case 'set-default-spec': {
        const id = resolveLastAdded(u['spec-id'], lastAddedSpecId, where, 'spec-id', 'spec');
        if (!m['partition-specs'].some((s) => s['spec-id'] === id)) throw invalid(`partition spec ${id} does not exist`);
        m['default-spec-id'] = id;
        break;
      }
      case 'add-sort-order': {
        const order = u['sort-order'];
        if (order === null || typeof order !== 'object' || !Array.isArray(order.fields)) throw invalid('sort-order must have fields');
        const fields = structuredClone(order.fields);
        const existing = m['sort-orders'].find((o) => sameJson(o.fields, fields));
        if (existing) {
          lastAddedSortOrderId = existing['order-id'];
          break;
        }
        const orderId = fields.length === 0 ? 0 : m['sort-orders'].reduce((max, o) => Math.max(max, o['order-id']), 0) + 1;
        const added: SortOrder = { 'order-id': orderId, fields };
        validateSortOrder(added, currentSchema(m, where), where);
        m['sort-orders'].push(added);
        lastAddedSortOrderId = orderId;
        break;
      }
      case 'set-default-sort-order': {
        const id = resolveLastAdded(u['sort-order-id'], lastAddedSortOrderId, where, 'sort-order-id', 'sort order');
        if (!m['sort-orders'].some((o) => o['order-id'] === id)) throw invalid(`sort order ${id} does not exist`);
        m['default-sort-order-id'] = id;
        break;
      }
      case 'add-snapshot': {
        const snapshot = u.snapshot;
        if (snapshot === null || typeof snapshot !== 'object') throw invalid('snapshot must be an object');
        requireInt(snapshot['snapshot-id'], `${where}: snapshot-id`);
        requireInt(snapshot['sequence-number'], `${where}: sequence-number`);
        requireInt(snapshot['timestamp-ms'], `${where}: timestamp-ms`);
        requireNonEmptyString(snapshot['manifest-list'], `${where}: manifest-list`);
        if (snapshot['parent-snapshot-id'] !== undefined && snapshot['parent-snapshot-id'] !== null) {
          requireInt(snapshot['parent-snapshot-id'], `${where}: parent-snapshot-id`);
        }
        if (snapshot.summary === null || typeof snapshot.summary !== 'object' || typeof snapshot.summary.operation !== 'string') {
          throw invalid('snapshot summary must have an operation');
        }
        const id = snapshot['snapshot-id'];
        if (m.snapshots!.some((s) => s['snapshot-id'] === id)) throw invalid(`snapshot ${id} already exists`);
        if (snapshot['sequence-number'] <= m['last-sequence-number']) {
          throw invalid(`sequence number ${snapshot['sequence-number']} is not above the last sequence number ${m['last-sequence-number']}`);
        }
        const added = structuredClone(snapshot);
        m.snapshots!.push(added);
        m['last-sequence-number'] = snapshot['sequence-number'];
        addedSnapshots.set(id, added);
        break;
      }
      case 'set-snapshot-ref': {
        const name = u['ref-name'];
        requireNonEmptyString(name, `${where}: ref-name`);
        requireInt(u['snapshot-id'], `${where}: snapshot-id`);
        if (u.type !== 'branch' && u.type !== 'tag') throw invalid(`type must be branch or tag, not ${JSON.stringify(u.type)}`);
        if (name === MAIN_BRANCH && u.type !== 'branch') throw invalid('main must be a branch');
        const snapshotId = u['snapshot-id'];
        if (!m.snapshots!.some((s) => s['snapshot-id'] === snapshotId)) throw invalid(`snapshot ${snapshotId} does not exist`);
        const ref: SnapshotRef = { 'snapshot-id': snapshotId, type: u.type };
        for (const key of ['max-ref-age-ms', 'max-snapshot-age-ms', 'min-snapshots-to-keep'] as const) {
          const value = u[key];
          if (value === undefined || value === null) continue;
          requireInt(value, `${where}: ${key}`);
          ref[key] = value;
        }
        if (sameJson(refs[name], ref)) break;
        refs[name] = ref;
        if (name === MAIN_BRANCH) {
          m['current-snapshot-id'] = snapshotId;
          m['snapshot-log']!.push({ 'snapshot-id': snapshotId, 'timestamp-ms': addedSnapshots.get(snapshotId)?.['timestamp-ms'] ?? nowMs });
        }
        break;
      }
      case 'remove-snapshots': {
        const ids = u['snapshot-ids'];
        if (!Array.isArray(ids)) throw invalid('snapshot-ids must be an array');
        ids.forEach((id) => requireInt(id, `${where}: snapshot-ids`));
        const removed = new Set(ids);
        m.snapshots = m.snapshots!.filter((s) => !removed.has(s['snapshot-id']));
        for (const [name, ref] of Object.entries(refs)) {
          if (removed.has(ref['snapshot-id'])) removeRef(m, name);
        }
        // A log entry whose snapshot is gone invalidates the history before it (nothing may lack its parent).
        const log: NonNullable<TableMetadata['snapshot-log']> = [];
        for (const entry of m['snapshot-log']!) {
          if (removed.has(entry['snapshot-id']) || !m.snapshots.some((s) => s['snapshot-id'] === entry['snapshot-id'])) log.length = 0;
          else log.push(entry);
        }
        m['snapshot-log'] = log;
        break;
      }
      case 'remove-snapshot-ref':
        requireNonEmptyString(u['ref-name'], `${where}: ref-name`);
        removeRef(m, u['ref-name']);
        break;
      case 'set-location':
        requireNonEmptyString(u.location, `${where}: location`);
        m.location = u.location;
        break;
      case 'set-properties': {
        const props = u.updates;
        if (props === null || typeof props !== 'object' || Array.isArray(props)) throw invalid('updates must be an object');
        for (const [key, value] of Object.entries(props)) {
          if (typeof value !== 'string') throw invalid(`property ${key} must be a string`);
          properties[key] = value;
        }
        break;
      }
      case 'remove-properties': {
        const removals = u.removals;
        if (!Array.isArray(removals) || removals.some((k) => typeof k !== 'string')) throw invalid('removals must be an array of strings');
        for (const key of removals) delete properties[key];
        break;
      }
      default:
        throw new InvalidCommitError(`update #${index}: unknown action ${JSON.stringify((u as { action: unknown }).action)}`);
    }
  });

  validateTable(m);
  m['last-updated-ms'] = nowMs;
  return m;
}

/** Appends the metadata file being replaced to metadata-log (keeping the newest `maxEntries`), as the spec asks of every commit. */
export function appendMetadataLog(
  metadata: TableMetadata,
  previousMetadataFile: string,
  previousLastUpdatedMs: number,
  maxEntries = 100,
): TableMetadata {
  const log = [...(metadata['metadata-log'] ?? []), { 'metadata-file': previousMetadataFile, 'timestamp-ms': previousLastUpdatedMs }];
  return { ...metadata, 'metadata-log': log.slice(Math.max(0, log.length - maxEntries)) };
}

export function metadataFileName(version: number): string {
  if (!Number.isSafeInteger(version) || version < 1) throw new Error(`metadata version must be a positive integer, not ${version}`);
  return `v${version}.metadata.json`;
}

/** N of `v<N>.metadata.json` (a bare name, path or URI), or undefined when the name is not of that form. */
export function parseMetadataVersion(fileName: string): number | undefined {
  const match = /^v([1-9]\d*)\.metadata\.json$/.exec(basename(fileName));
  if (!match) return undefined;
  const version = Number(match[1]);
  return Number.isSafeInteger(version) ? version : undefined;
}

/**
 * Writes `<metadataDir>/v<version>.metadata.json` (temp file, fsync, rename: readers never see half a
 * file; an existing file of that version is replaced) and then `version-hint.text` with the version.
 * Writes the metadata as given: to record the replaced file in metadata-log, pass it through
 * appendMetadataLog first. `metadataDir` (created if missing) is a path or a file:// URI. Returns the file's path.
 */
export async function writeMetadataFiles(metadataDir: string, version: number, metadata: TableMetadata): Promise<string> {
  const dir = metadataDir.startsWith('file:') ? fileURLToPath(metadataDir) : metadataDir;
  const path = join(dir, metadataFileName(version));
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(path, JSON.stringify(metadata, null, 2));
  await writeFileAtomic(join(dir, 'version-hint.text'), String(version));
  const directory = await open(dir, 'r');
  try {
    await directory.sync(); // the renames survive a crash
  } finally {
    await directory.close();
  }
  return path;
}

async function writeFileAtomic(path: string, content: string): Promise<void> {
  const temp = `${path}.${randomUUID()}.tmp`;
  const handle = await open(temp, 'w');
  try {
    await handle.writeFile(content);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  await handle.close();
  await rename(temp, path);
}

function removeRef(m: TableMetadata, name: string): void {
  if (!m.refs || !(name in m.refs)) return;
  delete m.refs[name];
  if (name === MAIN_BRANCH) m['current-snapshot-id'] = -1;
}

function resolveLastAdded(value: unknown, lastAdded: number | undefined, where: string, key: string, what: string): number {
  requireInt(value, `${where}: ${key}`);
  if (value !== -1) return value;
  if (lastAdded === undefined) throw new InvalidCommitError(`${where}: ${key} -1 means the last added ${what}, but this commit adds none`);
  return lastAdded;
}

function currentSchema(m: TableMetadata, where: string): IcebergSchema {
  const schema = m.schemas.find((s) => s['schema-id'] === m['current-schema-id']);
  if (!schema) throw new InvalidCommitError(`${where}: the table has no current schema`);
  return schema;
}

function validateTable(m: TableMetadata): void {
  const problem = (why: string) => new InvalidCommitError(`resulting table metadata is invalid: ${why}`);
  if (m['table-uuid'] === '') throw problem('no table uuid');
  if (m.location === '') throw problem('no location');
  if (!m.schemas.some((s) => s['schema-id'] === m['current-schema-id'])) throw problem(`current schema ${m['current-schema-id']} does not exist`);
  if (!m['partition-specs'].some((s) => s['spec-id'] === m['default-spec-id'])) throw problem(`default spec ${m['default-spec-id']} does not exist`);
  if (!m['sort-orders'].some((o) => o['order-id'] === m['default-sort-order-id'])) {
    throw problem(`default sort order ${m['default-sort-order-id']} does not exist`);
  }
}

function validateSchema(schema: IcebergSchema, where: string): void {
  const ids = new Set<number>();
  const names = new Set<string>();
  for (const field of schema.fields) {
    if (field === null || typeof field !== 'object') throw new InvalidCommitError(`${where}: field ${JSON.stringify(field)} is not an object`);
    requireInt(field.id, `${where}: field id`);
    requireNonEmptyString(field.name, `${where}: field name`);
    if (typeof field.required !== 'boolean') throw new InvalidCommitError(`${where}: field ${field.name} lacks required: true|false`);
    if (field.type === undefined || field.type === null) throw new InvalidCommitError(`${where}: field ${field.name} has no type`);
    if (ids.has(field.id)) throw new InvalidCommitError(`${where}: duplicate field id ${field.id}`);
    if (names.has(field.name)) throw new InvalidCommitError(`${where}: duplicate field name ${field.name}`);
    ids.add(field.id);
    names.add(field.name);
  }
}

function validateSpec(spec: PartitionSpec, schema: IcebergSchema, where: string): void {
  const names = new Set<string>();
  const ids = new Set<number>();
  for (const field of spec.fields) {
    requireInt(field['source-id'], `${where}: source-id`);
    requireInt(field['field-id'], `${where}: field-id`);
    requireNonEmptyString(field.name, `${where}: partition field name`);
    const source = schema.fields.find((f) => f.id === field['source-id']);
    if (!source) throw new InvalidCommitError(`${where}: partition field ${field.name} has source-id ${field['source-id']}, which the schema lacks`);
    checkTransform(field.transform, source, `${where}: partition field ${field.name}`);
    if (names.has(field.name)) throw new InvalidCommitError(`${where}: duplicate partition field name ${field.name}`);
    if (ids.has(field['field-id'])) throw new InvalidCommitError(`${where}: duplicate partition field id ${field['field-id']}`);
    names.add(field.name);
    ids.add(field['field-id']);
  }
}

function validateSortOrder(order: SortOrder, schema: IcebergSchema, where: string): void {
  for (const field of order.fields) {
    requireInt(field['source-id'], `${where}: source-id`);
    const source = schema.fields.find((f) => f.id === field['source-id']);
    if (!source) throw new InvalidCommitError(`${where}: sort source-id ${field['source-id']} is not in the schema`);
    checkTransform(field.transform, source, `${where}: sort field on ${source.name}`);
    if (field.direction !== 'asc' && field.direction !== 'desc') throw new InvalidCommitError(`${where}: sort direction must be asc or desc`);
    if (field['null-order'] !== 'nulls-first' && field['null-order'] !== 'nulls-last') {
      throw new InvalidCommitError(`${where}: null-order must be nulls-first or nulls-last`);
    }
  }
}

/** A known transform that can take the source column's type (nested source types are left to the reader). */
function checkTransform(transform: unknown, source: IcebergSchemaField, where: string): void {
  try {
    if (typeof transform !== 'string') throw new Error(`transform must be a string, not ${JSON.stringify(transform)}`);
    const parsed = parseTransform(transform);
    if (typeof source.type === 'string') transformResultType(parsed, source.type);
  } catch (error) {
    throw new InvalidCommitError(`${where}: ${(error as Error).message}`);
  }
}

/** Highest field id in a schema, nested struct/list/map types included. */
function maxFieldId(schema: IcebergSchema): number {
  const walk = (type: unknown): number => {
    if (type === null || typeof type !== 'object') return 0;
    const t = type as Record<string, unknown>;
    let max = 0;
    if (Array.isArray(t.fields)) {
      for (const f of t.fields as { id: number; type: unknown }[]) max = Math.max(max, f.id, walk(f.type));
    }
    for (const key of ['element-id', 'key-id', 'value-id']) if (typeof t[key] === 'number') max = Math.max(max, t[key] as number);
    for (const key of ['element', 'key', 'value']) max = Math.max(max, walk(t[key]));
    return max;
  };
  return walk(schema);
}

function requireInt(value: unknown, what: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new InvalidCommitError(`${what} must be an integer, not ${JSON.stringify(value)}`);
  }
}

function requireNonEmptyString(value: unknown, what: string): asserts value is string {
  if (typeof value !== 'string' || value === '') throw new InvalidCommitError(`${what} must be a non-empty string`);
}

function withoutKey(value: object, key: string): object {
  const copy: Record<string, unknown> = { ...value };
  delete copy[key];
  return copy;
}

/** Equal as JSON values, whatever the key order. */
function sameJson(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

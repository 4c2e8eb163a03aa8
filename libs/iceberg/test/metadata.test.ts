import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CommitConflictError,
  InvalidCommitError,
  appendMetadataLog,
  applyUpdates,
  checkRequirements,
  emptyTableMetadata,
  metadataFileName,
  newTableMetadata,
  parseMetadataVersion,
  writeMetadataFiles,
  type IcebergSchema,
  type Snapshot,
  type TableMetadata,
  type TableRequirement,
  type TableUpdate,
} from '../src/index.js';

const schema: IcebergSchema = {
  type: 'struct',
  'schema-id': 7,
  fields: [
    { id: 1, name: 'block_number', required: true, type: 'long' },
    { id: 2, name: 'hash', required: true, type: 'string' },
    { id: 5, name: 'block_timestamp', required: true, type: 'timestamptz' },
  ],
};

function table(): TableMetadata {
  return newTableMetadata({
    location: 'file:///warehouse/eth/transactions',
    schema,
    spec: { fields: [{ 'source-id': 1, name: 'block_number_trunc', transform: 'truncate[10000]' }, { 'source-id': 5, name: 'day', transform: 'day' }] },
    uuid: '9c12d441-03fe-4693-9a96-a0705ddf69c1',
    nowMs: 1000,
  });
}

function snapshot(id: number, sequence: number, parent?: number): Snapshot {
  return {
    'snapshot-id': id,
    ...(parent === undefined ? {} : { 'parent-snapshot-id': parent }),
    'sequence-number': sequence,
    'timestamp-ms': 5000 + sequence,
    'manifest-list': `file:///warehouse/eth/transactions/metadata/snap-${id}-1-x.avro`,
    summary: { operation: 'append' },
    'schema-id': 0,
  };
}

const commit = (id: number, sequence: number, parent?: number): TableUpdate[] => [
  { action: 'add-snapshot', snapshot: snapshot(id, sequence, parent) },
  { action: 'set-snapshot-ref', 'ref-name': 'main', type: 'branch', 'snapshot-id': id },
];

describe('newTableMetadata', () => {
  it('assigns partition field ids from 1000, keeps column ids, starts without snapshots', () => {
    const m = table();
    expect(m['partition-specs']).toEqual([
      {
        'spec-id': 0,
        fields: [
          { 'source-id': 1, 'field-id': 1000, name: 'block_number_trunc', transform: 'truncate[10000]' },
          { 'source-id': 5, 'field-id': 1001, name: 'day', transform: 'day' },
        ],
      },
    ]);
    expect(m['last-partition-id']).toBe(1001);
    expect(m['last-column-id']).toBe(5);
    expect(m.schemas[0]!['schema-id']).toBe(0);
    expect(m['current-snapshot-id']).toBe(-1);
    expect(m.snapshots).toEqual([]);
    expect(m.refs).toEqual({});
    expect(m['sort-orders']).toEqual([{ 'order-id': 0, fields: [] }]);
    expect(m['last-updated-ms']).toBe(1000);
  });

  it('refuses a partition field on a missing column or with an unknown transform', () => {
    expect(() => newTableMetadata({ location: 'file:///t', schema, spec: { fields: [{ 'source-id': 9, name: 'x', transform: 'identity' }] } })).toThrow(
      /source-id 9/,
    );
    expect(() => newTableMetadata({ location: 'file:///t', schema, spec: { fields: [{ 'source-id': 1, name: 'x', transform: 'bucket[0]' }] } })).toThrow(
      /invalid transform/,
    );
  });
});

describe('checkRequirements', () => {
  const withSnapshot = () => applyUpdates(table(), commit(11, 1), 2000);
  const conflict = (base: TableMetadata | undefined, r: TableRequirement) => expect(() => checkRequirements(base, [r])).toThrow(CommitConflictError);
  const pass = (base: TableMetadata | undefined, r: TableRequirement) => expect(() => checkRequirements(base, [r])).not.toThrow();

  it('assert-create passes only when the table does not exist', () => {
    pass(undefined, { type: 'assert-create' });
    conflict(table(), { type: 'assert-create' });
  });

  it('assert-table-uuid', () => {
    pass(table(), { type: 'assert-table-uuid', uuid: '9C12D441-03FE-4693-9A96-A0705DDF69C1' });
    conflict(table(), { type: 'assert-table-uuid', uuid: '00000000-0000-0000-0000-000000000000' });
    conflict(undefined, { type: 'assert-table-uuid', uuid: '9c12d441-03fe-4693-9a96-a0705ddf69c1' });
  });

  it('assert-ref-snapshot-id: null means the ref must not exist', () => {
    pass(table(), { type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': null });
    conflict(withSnapshot(), { type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': null });
    pass(withSnapshot(), { type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': 11 });
    conflict(withSnapshot(), { type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': 12 });
    conflict(table(), { type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': 11 });
  });

  it('asserts on ids', () => {
    const m = table();
    pass(m, { type: 'assert-last-assigned-field-id', 'last-assigned-field-id': 5 });
    conflict(m, { type: 'assert-last-assigned-field-id', 'last-assigned-field-id': 4 });
    pass(m, { type: 'assert-current-schema-id', 'current-schema-id': 0 });
    conflict(m, { type: 'assert-current-schema-id', 'current-schema-id': 1 });
    pass(m, { type: 'assert-last-assigned-partition-id', 'last-assigned-partition-id': 1001 });
    conflict(m, { type: 'assert-last-assigned-partition-id', 'last-assigned-partition-id': 1000 });
    pass(m, { type: 'assert-default-spec-id', 'default-spec-id': 0 });
    conflict(m, { type: 'assert-default-spec-id', 'default-spec-id': 1 });
    pass(m, { type: 'assert-default-sort-order-id', 'default-sort-order-id': 0 });
    conflict(m, { type: 'assert-default-sort-order-id', 'default-sort-order-id': 1 });
  });

  it('refuses unknown and malformed requirements as invalid, not as conflicts', () => {
    expect(() => checkRequirements(table(), [{ type: 'assert-nothing' } as unknown as TableRequirement])).toThrow(InvalidCommitError);
    expect(() => checkRequirements(table(), [{ type: 'assert-default-spec-id' } as unknown as TableRequirement])).toThrow(InvalidCommitError);
    expect(() => checkRequirements(table(), [{ type: 'assert-table-uuid', uuid: 3 } as unknown as TableRequirement])).toThrow(InvalidCommitError);
    expect(() => checkRequirements(table(), [null as unknown as TableRequirement])).toThrow(InvalidCommitError);
  });
});

describe('applyUpdates', () => {
  it('adds snapshots, moves main, logs history and leaves the base alone', () => {
    const base = table();
    const before = structuredClone(base);
    const m1 = applyUpdates(base, commit(11, 1), 2000);
    const m2 = applyUpdates(m1, commit(12, 2, 11), 3000);
    expect(base).toEqual(before);
    expect(m2['current-snapshot-id']).toBe(12);
    expect(m2['last-sequence-number']).toBe(2);
    expect(m2.refs).toEqual({ main: { 'snapshot-id': 12, type: 'branch' } });
    expect(m2['snapshot-log']).toEqual([
      { 'snapshot-id': 11, 'timestamp-ms': 5001 },
      { 'snapshot-id': 12, 'timestamp-ms': 5002 },
    ]);
    expect(m2['last-updated-ms']).toBe(3000);
  });

  it('refuses a sequence number not above the last one, a duplicate snapshot, a ref to a missing snapshot', () => {
    const m1 = applyUpdates(table(), commit(11, 1), 2000);
    expect(() => applyUpdates(m1, commit(12, 1, 11))).toThrow(/sequence number 1 is not above/);
    expect(() => applyUpdates(m1, commit(11, 2))).toThrow(/snapshot 11 already exists/);
    expect(() => applyUpdates(m1, [{ action: 'set-snapshot-ref', 'ref-name': 'main', type: 'branch', 'snapshot-id': 99 }])).toThrow(
      /update #0 set-snapshot-ref: snapshot 99 does not exist/,
    );
    expect(() => applyUpdates(m1, [{ action: 'set-snapshot-ref', 'ref-name': 'main', type: 'tag', 'snapshot-id': 11 }])).toThrow(InvalidCommitError);
  });

  it('removes snapshots with their dangling refs and the history before them', () => {
    let m = applyUpdates(table(), commit(11, 1), 2000);
    m = applyUpdates(m, commit(12, 2, 11), 3000);
    m = applyUpdates(m, [{ action: 'set-snapshot-ref', 'ref-name': 'old', type: 'tag', 'snapshot-id': 11 }], 3500);
    m = applyUpdates(m, commit(13, 3, 12), 4000);
    const expired = applyUpdates(m, [{ action: 'remove-snapshots', 'snapshot-ids': [12, 11] }], 5000);
    expect(expired.snapshots!.map((s) => s['snapshot-id'])).toEqual([13]);
    expect(expired.refs).toEqual({ main: { 'snapshot-id': 13, type: 'branch' } });
    expect(expired['snapshot-log']).toEqual([{ 'snapshot-id': 13, 'timestamp-ms': 5003 }]);
    const unref = applyUpdates(expired, [{ action: 'remove-snapshot-ref', 'ref-name': 'main' }]);
    expect(unref['current-snapshot-id']).toBe(-1);
  });

  it('adds schemas, specs and sort orders; -1 means the last added; identical ones reuse ids', () => {
    const wider: IcebergSchema = { ...schema, fields: [...schema.fields, { id: 9, name: 'fee', required: false, type: 'string' }] };
    const m = applyUpdates(table(), [
      { action: 'add-schema', schema: wider },
      { action: 'set-current-schema', 'schema-id': -1 },
      { action: 'add-spec', spec: { 'spec-id': 0, fields: [{ 'source-id': 9, name: 'fee_bucket', transform: 'bucket[16]' } as never] } },
      { action: 'set-default-spec', 'spec-id': -1 },
      {
        action: 'add-sort-order',
        'sort-order': { 'order-id': 5, fields: [{ 'source-id': 1, transform: 'identity', direction: 'asc', 'null-order': 'nulls-first' }] },
      },
      { action: 'set-default-sort-order', 'sort-order-id': -1 },
      { action: 'add-schema', schema: { ...schema, 'schema-id': 42 } },
    ]);
    expect(m['current-schema-id']).toBe(1);
    expect(m.schemas.map((s) => s['schema-id'])).toEqual([0, 1]);
    expect(m['last-column-id']).toBe(9);
    expect(m['default-spec-id']).toBe(1);
    expect(m['partition-specs'][1]!.fields[0]!['field-id']).toBe(1002);
    expect(m['last-partition-id']).toBe(1002);
    expect(m['default-sort-order-id']).toBe(1);
  });

  it('refuses -1 when nothing was added, unknown ids, unknown actions and malformed updates', () => {
    const m = table();
    expect(() => applyUpdates(m, [{ action: 'set-current-schema', 'schema-id': -1 }])).toThrow(/adds none/);
    expect(() => applyUpdates(m, [{ action: 'set-default-spec', 'spec-id': 3 }])).toThrow(/partition spec 3 does not exist/);
    expect(() => applyUpdates(m, [{ action: 'set-default-sort-order', 'sort-order-id': 3 }])).toThrow(/sort order 3 does not exist/);
    expect(() => applyUpdates(m, [{ action: 'frobnicate' } as unknown as TableUpdate])).toThrow(/unknown action "frobnicate"/);
    expect(() => applyUpdates(m, [{ action: 'set-location', location: '' }])).toThrow(InvalidCommitError);
    expect(() => applyUpdates(m, [{ action: 'upgrade-format-version', 'format-version': 1 }])).toThrow(/downgrade/);
    expect(() => applyUpdates(m, [{ action: 'upgrade-format-version', 'format-version': 3 }])).toThrow(/not supported/);
    expect(() => applyUpdates(m, [{ action: 'assign-uuid', uuid: '00000000-0000-0000-0000-000000000000' }])).toThrow(/reassign/);
    expect(() => applyUpdates(m, [{ action: 'set-properties', updates: { a: 1 } } as unknown as TableUpdate])).toThrow(/property a/);
  });

  it('sets and removes properties and the location', () => {
    let m = applyUpdates(table(), [
      { action: 'set-properties', updates: { a: '1', b: '2' } },
      { action: 'set-location', location: 'file:///elsewhere' },
    ]);
    m = applyUpdates(m, [{ action: 'remove-properties', removals: ['a', 'missing'] }]);
    expect(m.properties).toEqual({ b: '2' });
    expect(m.location).toBe('file:///elsewhere');
  });

  it('builds a whole table from a REST create transaction', () => {
    const m = applyUpdates(emptyTableMetadata(), [
      { action: 'assign-uuid', uuid: 'a4d2b5c8-1111-2222-3333-444455556666' },
      { action: 'upgrade-format-version', 'format-version': 2 },
      { action: 'add-schema', schema },
      { action: 'set-current-schema', 'schema-id': -1 },
      { action: 'add-spec', spec: { 'spec-id': 0, fields: [] } },
      { action: 'set-default-spec', 'spec-id': -1 },
      { action: 'add-sort-order', 'sort-order': { 'order-id': 0, fields: [] } },
      { action: 'set-default-sort-order', 'sort-order-id': -1 },
      { action: 'set-location', location: 'file:///warehouse/t' },
    ]);
    expect(m['table-uuid']).toBe('a4d2b5c8-1111-2222-3333-444455556666');
    expect(m['current-schema-id']).toBe(0);
    expect(m['last-column-id']).toBe(5);
    expect(() => applyUpdates(emptyTableMetadata(), [{ action: 'assign-uuid', uuid: 'x' }])).toThrow(/no location/);
  });
});

describe('metadata files', () => {
  it('names and parses versions', () => {
    expect(metadataFileName(3)).toBe('v3.metadata.json');
    expect(parseMetadataVersion('file:///w/t/metadata/v12.metadata.json')).toBe(12);
    expect(parseMetadataVersion('00012-uuid.metadata.json')).toBeUndefined();
    expect(parseMetadataVersion('v0.metadata.json')).toBeUndefined();
  });

  it('writes vN.metadata.json then version-hint.text, leaving no temp files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'iceberg-meta-'));
    try {
      const v1 = table();
      const path1 = await writeMetadataFiles(dir, 1, v1);
      const v2 = appendMetadataLog(applyUpdates(v1, commit(11, 1), 2000), `file://${path1}`, v1['last-updated-ms']);
      const path2 = await writeMetadataFiles(`file://${dir}`, 2, v2);
      expect(path2).toBe(join(dir, 'v2.metadata.json'));
      expect(JSON.parse(await readFile(path2, 'utf8'))).toEqual(v2);
      expect(v2['metadata-log']).toEqual([{ 'metadata-file': `file://${path1}`, 'timestamp-ms': 1000 }]);
      expect(await readFile(join(dir, 'version-hint.text'), 'utf8')).toBe('2');
      expect((await readdir(dir)).sort()).toEqual(['v1.metadata.json', 'v2.metadata.json', 'version-hint.text']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { avroMetadata, avroRead, icebergManifests } from 'icebird';
import { tempDir } from '@chainlake/testkit';
import {
  EntryStatus,
  LocalFileIO,
  decodeBound,
  encodeBound,
  joinLocation,
  newTableMetadata,
  partitionTypes,
  readManifest,
  readManifestEntries,
  readManifestList,
  writeManifest,
  writeManifestList,
  type DataFile,
  type IcebergSchema,
  type ManifestEntry,
  type PartitionSpec,
} from '../src/index.js';
import { serveDirectory } from './helpers.js';

const schema: IcebergSchema = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'block_number', required: true, type: 'long' },
    { id: 2, name: 'block_timestamp', required: true, type: 'timestamptz' },
    { id: 3, name: 'address', required: false, type: 'string' },
  ],
};
const spec: PartitionSpec = {
  'spec-id': 0,
  fields: [
    { 'source-id': 1, 'field-id': 1000, name: 'block_number_trunc', transform: 'truncate[1000]' },
    { 'source-id': 2, 'field-id': 1001, name: 'block-day', transform: 'day' },
    { 'source-id': 3, 'field-id': 1002, name: 'address_bucket', transform: 'bucket[8]' },
  ],
};

function dataFile(path: string, block: number | null, day: number, records: number): DataFile {
  return {
    content: 0,
    filePath: path,
    fileFormat: 'PARQUET',
    partition: { block_number_trunc: block, 'block-day': day, address_bucket: 3 },
    recordCount: records,
    fileSizeInBytes: records * 100,
    columnSizes: new Map([[1, 10], [2, 20], [3, 30]]),
    valueCounts: new Map([[1, records], [2, records], [3, records]]),
    nullValueCounts: new Map([[3, 1]]),
    lowerBounds: new Map([[1, encodeBound('long', block ?? 0)]]),
    upperBounds: new Map([[1, encodeBound('long', (block ?? 0) + 999)], [3, encodeBound('string', 'zz')]]),
    splitOffsets: [4, 5000],
    sortOrderId: 0,
  };
}

let dir: { path: string; remove: () => Promise<void> };
let served: Awaited<ReturnType<typeof serveDirectory>>;
let io: LocalFileIO;
let base: string;

beforeAll(async () => {
  dir = await tempDir('iceberg-manifest');
  served = await serveDirectory(dir.path);
  io = new LocalFileIO({ mounts: { [`${served.url}/`]: `${dir.path}/` } });
  base = `${served.url}/t`;
});

afterAll(async () => {
  await served?.close();
  await dir?.remove();
});

const entries: ManifestEntry[] = [
  { status: EntryStatus.ADDED, snapshotId: 77, sequenceNumber: null, fileSequenceNumber: null, dataFile: dataFile('s3://b/t/data/a.parquet', 2000, 19000, 10) },
  { status: EntryStatus.EXISTING, snapshotId: 55, sequenceNumber: 3, fileSequenceNumber: 3, dataFile: dataFile('s3://b/t/data/b.parquet', 5000, 19002, 20) },
  { status: EntryStatus.DELETED, snapshotId: 77, sequenceNumber: 2, fileSequenceNumber: 2, dataFile: dataFile('s3://b/t/data/c.parquet', null, 18999, 5) },
];

describe('manifests', () => {
  it('round-trip through avsc with inheritance of snapshot and sequence numbers', async () => {
    const location = joinLocation(base, 'metadata', 'm0.avro');
    const manifest = await writeManifest(io, location, entries, { schema, spec, snapshotId: 77, sequenceNumber: 4 });
    expect(manifest).toMatchObject({
      manifestPath: location,
      partitionSpecId: 0,
      content: 0,
      sequenceNumber: 4,
      minSequenceNumber: 3,
      addedSnapshotId: 77,
      addedFilesCount: 1,
      existingFilesCount: 1,
      deletedFilesCount: 1,
      addedRowsCount: 10,
      existingRowsCount: 20,
      deletedRowsCount: 5,
    });
    const types = partitionTypes(spec, schema);
    expect(types).toEqual(['long', 'date', 'int']);
    const [block, day, bucket] = manifest.partitions;
    expect(block).toMatchObject({ containsNull: true, containsNan: false });
    expect(decodeBound('long', block!.lowerBound!)).toBe(2000n);
    expect(decodeBound('long', block!.upperBound!)).toBe(5000n);
    expect([decodeBound('date', day!.lowerBound!), decodeBound('date', day!.upperBound!)]).toEqual([18999, 19002]);
    expect(bucket!.containsNull).toBe(false);

    const raw = await readManifest(io, location);
    expect(raw.specId).toBe(0);
    expect(raw.schema).toEqual(schema);
    expect(raw.partitionFields).toEqual(spec.fields);
    expect(raw.entries).toEqual(entries);

    const inherited = await readManifestEntries(io, { ...manifest, addedSnapshotId: 99 });
    expect(inherited[0]).toMatchObject({ snapshotId: 77, sequenceNumber: 4, fileSequenceNumber: 4 });
    expect(inherited[1]).toMatchObject({ snapshotId: 55, sequenceNumber: 3, fileSequenceNumber: 3 });
  });

  it('carry the spec field ids, the k/v ids of maps and the header keys, readable by icebird', async () => {
    const location = joinLocation(base, 'metadata', 'm1.avro');
    await writeManifest(io, location, entries, { schema, spec, snapshotId: 77, sequenceNumber: 4, codec: 'null' });
    const bytes = await io.read(location);
    const reader = { view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), offset: 0 };
    const { metadata, syncMarker } = avroMetadata(reader);
    expect(metadata['avro.codec']).toBe('null');
    expect(metadata['format-version']).toBe('2');
    expect(metadata['content']).toBe('data');
    expect(metadata['partition-spec-id']).toBe('0');
    expect(metadata['schema-id']).toBe('0');
    expect(JSON.parse(metadata['partition-spec'])).toEqual(spec.fields);
    const avroSchema = metadata['avro.schema'];
    const dataFileType = avroSchema.fields.find((f: { name: string }) => f.name === 'data_file');
    expect(dataFileType['field-id']).toBe(2);
    const fields = dataFileType.type.fields;
    const partition = fields.find((f: { name: string }) => f.name === 'partition');
    expect(partition['field-id']).toBe(102);
    expect(partition.type.name).toBe('r102');
    expect(partition.type.fields.map((f: { name: string; 'field-id': number }) => [f.name, f['field-id']])).toEqual([
      ['block_number_trunc', 1000],
      ['block_x2Dday', 1001],
      ['address_bucket', 1002],
    ]);
    const columnSizes = fields.find((f: { name: string }) => f.name === 'column_sizes');
    expect(columnSizes['field-id']).toBe(108);
    expect(columnSizes.type[1].logicalType).toBe('map');
    expect(columnSizes.type[1].items.fields.map((f: { 'field-id': number }) => f['field-id'])).toEqual([117, 118]);
    expect(fields.find((f: { name: string }) => f.name === 'split_offsets').type[1]['element-id']).toBe(133);

    const records = avroRead({ reader, metadata, syncMarker });
    expect(records.length).toBe(3);
    expect(records[1]).toMatchObject({ status: 0, snapshot_id: 55n, sequence_number: 3n });
    expect(records[0]!.data_file.file_path).toBe('s3://b/t/data/a.parquet');
    expect(records[0]!.data_file.record_count).toBe(10n);
    expect(records[0]!.data_file.partition).toEqual({ block_number_trunc: 2000n, block_x2Dday: new Date(19000 * 86_400_000), address_bucket: 3 });
    expect(records[2]!.data_file.partition.block_number_trunc).toBeUndefined();
    expect(records[0]!.data_file.column_sizes).toEqual([
      { key: 1, value: 10n },
      { key: 2, value: 20n },
      { key: 3, value: 30n },
    ]);
    expect([...records[0]!.data_file.upper_bounds[1].value]).toEqual([...Buffer.from('zz')]);
  });

  it('lists round-trip through avsc and icebird (deflate), and icebird applies our inheritance', async () => {
    const table = newTableMetadata({ location: base, schema, spec: { fields: spec.fields } });
    const m0 = await writeManifest(io, joinLocation(base, 'metadata', 'm2.avro'), entries, { schema, spec, snapshotId: 77, sequenceNumber: 4 });
    const listLocation = joinLocation(base, 'metadata', 'snap-77-1-x.avro');
    await writeManifestList(io, listLocation, [m0], { snapshotId: 77, parentSnapshotId: 55, sequenceNumber: 4 });
    expect(await readManifestList(io, listLocation)).toEqual([m0]);

    const bytes = await io.read(listLocation);
    const { metadata } = avroMetadata({ view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), offset: 0 });
    expect(metadata).toMatchObject({ 'snapshot-id': '77', 'parent-snapshot-id': '55', 'sequence-number': '4', 'format-version': '2', 'avro.codec': 'deflate' });
    expect(metadata['avro.schema'].fields.map((f: { 'field-id': number }) => f['field-id'])).toEqual([
      500, 501, 502, 517, 515, 516, 503, 504, 505, 506, 512, 513, 514, 507, 519,
    ]);

    const snapshot = { 'snapshot-id': 77, 'sequence-number': 4, 'timestamp-ms': 1, 'manifest-list': listLocation, summary: { operation: 'append' as const } };
    const manifests = await icebergManifests({ ...table, 'current-snapshot-id': 77, snapshots: [snapshot] } as never);
    expect(manifests.length).toBe(1);
    expect(manifests[0]!.url).toBe(m0.manifestPath);
    expect(manifests[0]!.entries.map((e) => [e.status, e.data_file.file_path, e.sequence_number])).toEqual([
      [1, 's3://b/t/data/a.parquet', 4n],
      [0, 's3://b/t/data/b.parquet', 3n],
      [2, 's3://b/t/data/c.parquet', 2n],
    ]);
  });

  it('refuses EXISTING entries without sequence numbers and unsupported partition types', async () => {
    const bad = [{ ...entries[1]!, sequenceNumber: null }];
    await expect(writeManifest(io, joinLocation(base, 'metadata', 'bad.avro'), bad, { schema, spec, snapshotId: 1, sequenceNumber: 1 })).rejects.toThrow(
      /EXISTING entry of s3:\/\/b\/t\/data\/b.parquet lacks its sequence numbers/,
    );
    const decimalSchema: IcebergSchema = { ...schema, fields: [{ id: 1, name: 'amount', required: true, type: 'decimal(38,0)' }] };
    const decimalSpec: PartitionSpec = { 'spec-id': 0, fields: [{ 'source-id': 1, 'field-id': 1000, name: 'amount', transform: 'identity' }] };
    await expect(
      writeManifest(io, joinLocation(base, 'metadata', 'bad.avro'), [], { schema: decimalSchema, spec: decimalSpec, snapshotId: 1, sequenceNumber: 1 }),
    ).rejects.toThrow(/decimal\(38,0\) is not supported/);
    expect(await io.exists(joinLocation(base, 'metadata', 'bad.avro'))).toBe(false);
  });
});

import {
  type AvroCodec,
  type AvroField,
  type AvroRecordSchema,
  avroName,
  avroTypeOf,
  decodeAvroFile,
  encodeAvroFile,
  intMapType,
  listType,
  optionalField,
  requiredField,
} from './avro.js';
import { type BoundValue, compareValues, encodeBound } from './bounds.js';
import type { FileIO } from './io.js';
import { partitionTypes } from './partition.js';
import { EntryStatus, type DataFile, type IcebergSchema, type ManifestEntry, type ManifestFile, type PartitionSpec } from './types.js';

/** The spec's manifest_entry Avro schema (v2) with its partition struct r102. */
export function manifestEntrySchema(spec: PartitionSpec, schema: IcebergSchema): AvroRecordSchema {
  const types = partitionTypes(spec, schema);
  const partition: AvroRecordSchema = {
    type: 'record',
    name: 'r102',
    fields: spec.fields.map((field, i) => optionalField(avroName(field.name), field['field-id'], avroTypeOf(types[i]!))),
  };
  const dataFile: AvroRecordSchema = {
    type: 'record',
    name: 'r2',
    fields: [
      requiredField('content', 134, 'int'),
      requiredField('file_path', 100, 'string'),
      requiredField('file_format', 101, 'string'),
      requiredField('partition', 102, partition),
      requiredField('record_count', 103, 'long'),
      requiredField('file_size_in_bytes', 104, 'long'),
      optionalField('column_sizes', 108, intMapType(117, 118, 'long')),
      optionalField('value_counts', 109, intMapType(119, 120, 'long')),
      optionalField('null_value_counts', 110, intMapType(121, 122, 'long')),
      optionalField('nan_value_counts', 137, intMapType(138, 139, 'long')),
      optionalField('lower_bounds', 125, intMapType(126, 127, 'bytes')),
      optionalField('upper_bounds', 128, intMapType(129, 130, 'bytes')),
      optionalField('key_metadata', 131, 'bytes'),
      optionalField('split_offsets', 132, listType(133, 'long')),
      optionalField('equality_ids', 135, listType(136, 'int')),
      optionalField('sort_order_id', 140, 'int'),
      optionalField('referenced_data_file', 143, 'string'),
    ],
  };
  return {
    type: 'record',
    name: 'manifest_entry',
    fields: [
      requiredField('status', 0, 'int'),
      optionalField('snapshot_id', 1, 'long'),
      optionalField('sequence_number', 3, 'long'),
      optionalField('file_sequence_number', 4, 'long'),
      requiredField('data_file', 2, dataFile),
    ],
  };
}

/** The manifest_file Avro schema (v2) of manifest lists. */
export const MANIFEST_FILE_SCHEMA: AvroRecordSchema = {
  type: 'record',
  name: 'manifest_file',
  fields: [
    requiredField('manifest_path', 500, 'string'),
    requiredField('manifest_length', 501, 'long'),
    requiredField('partition_spec_id', 502, 'int'),
    requiredField('content', 517, 'int'),
    requiredField('sequence_number', 515, 'long'),
    requiredField('min_sequence_number', 516, 'long'),
    requiredField('added_snapshot_id', 503, 'long'),
    requiredField('added_files_count', 504, 'int'),
    requiredField('existing_files_count', 505, 'int'),
    requiredField('deleted_files_count', 506, 'int'),
    requiredField('added_rows_count', 512, 'long'),
    requiredField('existing_rows_count', 513, 'long'),
    requiredField('deleted_rows_count', 514, 'long'),
    optionalField(
      'partitions',
      507,
      listType(508, {
        type: 'record',
        name: 'r508',
        fields: [
          requiredField('contains_null', 509, 'boolean'),
          optionalField('contains_nan', 518, 'boolean'),
          optionalField('lower_bound', 510, 'bytes'),
          optionalField('upper_bound', 511, 'bytes'),
        ],
      }),
    ),
    optionalField('key_metadata', 519, 'bytes'),
  ],
};

export interface WriteManifestOptions {
  schema: IcebergSchema;
  spec: PartitionSpec;
  /** The snapshot that writes the manifest: its id and (optimistic) sequence number fill the manifest list entry. */
  snapshotId: number;
  sequenceNumber: number;
  codec?: AvroCodec;
}

/**
 * Writes a data manifest at `location` and returns its manifest list entry (counts, partition
 * summaries). ADDED entries should leave snapshot and sequence numbers null (inherited, spec
 * "Sequence Number Inheritance"); EXISTING and DELETED entries must carry theirs.
 */
export async function writeManifest(io: FileIO, location: string, entries: readonly ManifestEntry[], options: WriteManifestOptions): Promise<ManifestFile> {
  const { schema, spec, snapshotId, sequenceNumber } = options;
  const avroSchema = manifestEntrySchema(spec, schema);
  const names = spec.fields.map((f) => avroName(f.name));
  const records = entries.map((entry) => {
    if (entry.status !== EntryStatus.ADDED && (entry.sequenceNumber === null || entry.fileSequenceNumber === null)) {
      throw new Error(`manifest ${location}: the ${statusName(entry.status)} entry of ${entry.dataFile.filePath} lacks its sequence numbers`);
    }
    return entryRecord(entry, spec, names);
  });
  const bytes = await encodeAvroFile(
    avroSchema,
    records,
    {
      schema: JSON.stringify(schema),
      'schema-id': String(schema['schema-id']),
      'partition-spec': JSON.stringify(spec.fields),
      'partition-spec-id': String(spec['spec-id']),
      'format-version': '2',
      content: 'data',
    },
    options.codec,
  );
  await io.write(location, bytes);

  const count = (status: EntryStatus) => entries.filter((e) => e.status === status);
  const rows = (list: ManifestEntry[]) => list.reduce((sum, e) => sum + e.dataFile.recordCount, 0);
  const live = entries.filter((e) => e.status !== EntryStatus.DELETED);
  const minSequenceNumber = live.reduce((min, e) => Math.min(min, e.sequenceNumber ?? sequenceNumber), sequenceNumber);
  return {
    manifestPath: location,
    manifestLength: bytes.length,
    partitionSpecId: spec['spec-id'],
    content: 0,
    sequenceNumber,
    minSequenceNumber,
    addedSnapshotId: snapshotId,
    addedFilesCount: count(EntryStatus.ADDED).length,
    existingFilesCount: count(EntryStatus.EXISTING).length,
    deletedFilesCount: count(EntryStatus.DELETED).length,
    addedRowsCount: rows(count(EntryStatus.ADDED)),
    existingRowsCount: rows(count(EntryStatus.EXISTING)),
    deletedRowsCount: rows(count(EntryStatus.DELETED)),
    partitions: partitionSummaries(entries, spec, partitionTypes(spec, schema)),
  };
}

export interface ManifestContents {
  entries: ManifestEntry[];
  /** The table schema, spec id and partition fields the manifest was written with (its header). */
  schema: IcebergSchema;
  specId: number;
  partitionFields: PartitionSpec['fields'];
  content: 'data' | 'deletes';
}

/** Reads a manifest as written (null snapshot ids and sequence numbers stay null; see readManifestEntries). */
export async function readManifest(io: FileIO, location: string): Promise<ManifestContents> {
  const file = await decodeAvroFile(await io.read(location), `manifest ${location}`);
  const header = file.metadata;
  const bad = (why: string) => new Error(`manifest ${location}: ${why}`);
  if (header.schema === undefined || header['partition-spec'] === undefined) throw bad('its header lacks schema or partition-spec');
  const schema = JSON.parse(header.schema) as IcebergSchema;
  const partitionFields = JSON.parse(header['partition-spec']) as PartitionSpec['fields'];
  const specId = Number(header['partition-spec-id'] ?? 0);
  const content = header.content === 'deletes' ? 'deletes' : 'data';
  // Partition values are matched to spec fields by the Avro field's field-id (position as fallback).
  const dataFileSchema = file.schema.fields.find((f) => f.name === 'data_file')?.type as AvroRecordSchema | undefined;
  const partitionSchema = dataFileSchema?.fields.find((f) => f.name === 'partition')?.type as AvroRecordSchema | undefined;
  if (!partitionSchema) throw bad('its Avro schema has no data_file.partition struct');
  const partitionNames = partitionSchema.fields.map((avroField: AvroField, i) => {
    const field = partitionFields.find((f) => f['field-id'] === avroField['field-id']) ?? partitionFields[i];
    if (!field) throw bad(`partition field ${avroField.name} is not in its partition spec`);
    return [avroField.name, field.name] as const;
  });
  const entries = file.records.map((record) => entryFromRecord(record, partitionNames));
  return { entries, schema, specId, partitionFields, content };
}

/**
 * The entries of a manifest listed in a manifest list, with v2 inheritance applied: a null snapshot
 * id takes the manifest's added snapshot id, null sequence numbers of ADDED entries its sequence number.
 */
export async function readManifestEntries(io: FileIO, manifest: ManifestFile): Promise<ManifestEntry[]> {
  const { entries } = await readManifest(io, manifest.manifestPath);
  for (const entry of entries) {
    entry.snapshotId ??= manifest.addedSnapshotId;
    if (entry.status === EntryStatus.ADDED) {
      entry.sequenceNumber ??= manifest.sequenceNumber;
      entry.fileSequenceNumber ??= manifest.sequenceNumber;
    }
  }
  return entries;
}

export interface WriteManifestListOptions {
  snapshotId: number;
  parentSnapshotId: number | null;
  sequenceNumber: number;
  codec?: AvroCodec;
}

export async function writeManifestList(io: FileIO, location: string, manifests: readonly ManifestFile[], options: WriteManifestListOptions): Promise<void> {
  const records = manifests.map((m) => ({
    manifest_path: m.manifestPath,
    manifest_length: m.manifestLength,
    partition_spec_id: m.partitionSpecId,
    content: m.content,
    sequence_number: m.sequenceNumber,
    min_sequence_number: m.minSequenceNumber,
    added_snapshot_id: m.addedSnapshotId,
    added_files_count: m.addedFilesCount,
    existing_files_count: m.existingFilesCount,
    deleted_files_count: m.deletedFilesCount,
    added_rows_count: m.addedRowsCount,
    existing_rows_count: m.existingRowsCount,
    deleted_rows_count: m.deletedRowsCount,
    partitions: m.partitions.map((p) => ({
      contains_null: p.containsNull,
      contains_nan: p.containsNan ?? null,
      lower_bound: p.lowerBound ? Buffer.from(p.lowerBound) : null,
      upper_bound: p.upperBound ? Buffer.from(p.upperBound) : null,
    })),
    key_metadata: null,
  }));
  const bytes = await encodeAvroFile(
    MANIFEST_FILE_SCHEMA,
    records,
    {
      'snapshot-id': String(options.snapshotId),
      'parent-snapshot-id': options.parentSnapshotId === null ? 'null' : String(options.parentSnapshotId),
      'sequence-number': String(options.sequenceNumber),
      'format-version': '2',
    },
    options.codec,
  );
  await io.write(location, bytes);
}

export async function readManifestList(io: FileIO, location: string): Promise<ManifestFile[]> {
  const file = await decodeAvroFile(await io.read(location), `manifest list ${location}`);
  return file.records.map((r) => {
    const num = (...keys: string[]) => {
      for (const key of keys) if (typeof r[key] === 'number') return r[key] as number;
      return 0;
    };
    const partitions = (r.partitions ?? []) as { contains_null: boolean; contains_nan?: boolean | null; lower_bound?: Buffer | null; upper_bound?: Buffer | null }[];
    return {
      manifestPath: r.manifest_path as string,
      manifestLength: num('manifest_length'),
      partitionSpecId: num('partition_spec_id'),
      content: num('content') === 1 ? 1 : 0,
      sequenceNumber: num('sequence_number'),
      minSequenceNumber: num('min_sequence_number'),
      addedSnapshotId: num('added_snapshot_id'),
      addedFilesCount: num('added_files_count', 'added_data_files_count'),
      existingFilesCount: num('existing_files_count', 'existing_data_files_count'),
      deletedFilesCount: num('deleted_files_count', 'deleted_data_files_count'),
      addedRowsCount: num('added_rows_count'),
      existingRowsCount: num('existing_rows_count'),
      deletedRowsCount: num('deleted_rows_count'),
      partitions: partitions.map((p) => ({
        containsNull: p.contains_null,
        ...(typeof p.contains_nan === 'boolean' ? { containsNan: p.contains_nan } : {}),
        ...(p.lower_bound ? { lowerBound: new Uint8Array(p.lower_bound) } : {}),
        ...(p.upper_bound ? { upperBound: new Uint8Array(p.upper_bound) } : {}),
      })),
    } satisfies ManifestFile;
  });
}

/** Per partition field: whether any entry has null, and the encoded min and max of the others. */
export function partitionSummaries(entries: readonly ManifestEntry[], spec: PartitionSpec, types: readonly string[]): ManifestFile['partitions'] {
  return spec.fields.map((field, i) => {
    const type = types[i]!;
    let containsNull = false;
    let containsNan = false;
    let min: BoundValue | undefined;
    let max: BoundValue | undefined;
    for (const entry of entries) {
      const value = entry.dataFile.partition[field.name] ?? null;
      if (value === null) {
        containsNull = true;
        continue;
      }
      if (typeof value === 'number' && Number.isNaN(value)) {
        containsNan = true;
        continue;
      }
      if (min === undefined || compareValues(value, min) < 0) min = value;
      if (max === undefined || compareValues(value, max) > 0) max = value;
    }
    return {
      containsNull,
      containsNan,
      ...(min === undefined ? {} : { lowerBound: encodeBound(type, min) }),
      ...(max === undefined ? {} : { upperBound: encodeBound(type, max) }),
    };
  });
}

function entryRecord(entry: ManifestEntry, spec: PartitionSpec, avroNames: string[]): Record<string, unknown> {
  const f = entry.dataFile;
  const partition: Record<string, unknown> = {};
  spec.fields.forEach((field, i) => {
    partition[avroNames[i]!] = f.partition[field.name] ?? null;
  });
  return {
    status: entry.status,
    snapshot_id: entry.snapshotId,
    sequence_number: entry.sequenceNumber,
    file_sequence_number: entry.fileSequenceNumber,
    data_file: {
      content: f.content,
      file_path: f.filePath,
      file_format: f.fileFormat,
      partition,
      record_count: f.recordCount,
      file_size_in_bytes: f.fileSizeInBytes,
      column_sizes: mapRecords(f.columnSizes),
      value_counts: mapRecords(f.valueCounts),
      null_value_counts: mapRecords(f.nullValueCounts),
      nan_value_counts: null,
      lower_bounds: mapRecords(f.lowerBounds, (v) => Buffer.from(v)),
      upper_bounds: mapRecords(f.upperBounds, (v) => Buffer.from(v)),
      key_metadata: null,
      split_offsets: f.splitOffsets ?? null,
      equality_ids: null,
      sort_order_id: f.sortOrderId ?? null,
      referenced_data_file: null,
    },
  };
}

function entryFromRecord(record: Record<string, unknown>, partitionNames: readonly (readonly [string, string])[]): ManifestEntry {
  const d = record.data_file as Record<string, unknown>;
  const rawPartition = (d.partition ?? {}) as Record<string, unknown>;
  const partition: DataFile['partition'] = {};
  for (const [avroFieldName, name] of partitionNames) {
    const value = rawPartition[avroFieldName];
    if (value !== null && value !== undefined && typeof value !== 'number' && typeof value !== 'string') {
      throw new Error(`partition value of ${name} is a ${typeof value}: only int, long, date, timestamp and string partitions are supported`);
    }
    partition[name] = value ?? null;
  }
  const dataFile: DataFile = {
    content: 0,
    filePath: d.file_path as string,
    fileFormat: 'PARQUET',
    partition,
    recordCount: d.record_count as number,
    fileSizeInBytes: d.file_size_in_bytes as number,
    columnSizes: mapFromRecords(d.column_sizes, (v) => v as number),
    valueCounts: mapFromRecords(d.value_counts, (v) => v as number),
    nullValueCounts: mapFromRecords(d.null_value_counts, (v) => v as number),
    lowerBounds: mapFromRecords(d.lower_bounds, (v) => new Uint8Array(v as Buffer)),
    upperBounds: mapFromRecords(d.upper_bounds, (v) => new Uint8Array(v as Buffer)),
  };
  if (Array.isArray(d.split_offsets)) dataFile.splitOffsets = d.split_offsets as number[];
  if (typeof d.sort_order_id === 'number') dataFile.sortOrderId = d.sort_order_id;
  if (typeof d.file_format === 'string' && d.file_format.toUpperCase() !== 'PARQUET') {
    (dataFile as { fileFormat: string }).fileFormat = d.file_format.toUpperCase();
  }
  return {
    status: record.status as EntryStatus,
    snapshotId: (record.snapshot_id as number | null | undefined) ?? null,
    sequenceNumber: (record.sequence_number as number | null | undefined) ?? null,
    fileSequenceNumber: (record.file_sequence_number as number | null | undefined) ?? null,
    dataFile,
  };
}

function mapRecords<V>(map: Map<number, V> | undefined, convert: (v: V) => unknown = (v) => v): { key: number; value: unknown }[] | null {
  if (!map || map.size === 0) return null;
  return [...map.entries()].sort(([a], [b]) => a - b).map(([key, value]) => ({ key, value: convert(value) }));
}

function mapFromRecords<V>(records: unknown, convert: (v: unknown) => V): Map<number, V> {
  const map = new Map<number, V>();
  if (Array.isArray(records)) for (const r of records as { key: number; value: unknown }[]) map.set(r.key, convert(r.value));
  return map;
}

function statusName(status: EntryStatus): string {
  return status === EntryStatus.EXISTING ? 'EXISTING' : status === EntryStatus.DELETED ? 'DELETED' : 'ADDED';
}

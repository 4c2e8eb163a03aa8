import { open } from 'node:fs/promises';
import { truncateCodePoints } from '@chainlake/partitioning';
import { type ColumnChunk, type FileMetaData, type SchemaElement, parquetMetadataAsync } from 'hyparquet';
import { type BoundValue, compareValues, encodeBound } from './bounds.js';
import type { DataFile, IcebergSchema, IcebergSchemaField } from './types.js';

/** Iceberg's default metrics mode truncate(16): string and binary bounds keep at most 16 code points / bytes. */
export const BOUND_TRUNCATE_LENGTH = 16;
const FOOTER_FETCH_BYTES = 64 * 1024;

/** Statistics come back raw: integers as bigint, timestamps as µs bigint, dates as days, byte arrays as bytes. */
const RAW_PARSERS = {
  timestampFromMilliseconds: (millis: bigint) => millis * 1000n,
  timestampFromMicroseconds: (micros: bigint) => micros,
  timestampFromNanoseconds: () => undefined,
  dateFromDays: (days: number) => days,
  stringFromBytes: (bytes: Uint8Array) => bytes,
  uuidFromBytes: (bytes: Uint8Array) => bytes,
};

/**
 * The DataFile (manifest entry content) of a Parquet file, from its footer only: record count,
 * size, and per field id the compressed column sizes, value and null counts, lower and upper bounds
 * (Appendix D bytes; strings and binary truncated to 16, upper bounds rounded up), plus the row
 * groups' offsets as split offsets. Parquet columns match schema fields by Parquet field id, else by
 * name. A column whose type cannot hold its field's Iceberg type, or a missing required column, is
 * an error: such a file must not enter the table.
 */
export async function dataFileFromParquet(
  path: string,
  fileUri: string,
  partition: DataFile['partition'],
  schema: Pick<IcebergSchema, 'fields'>,
): Promise<DataFile> {
  const handle = await open(path, 'r');
  let metadata: FileMetaData;
  let fileSize: number;
  try {
    fileSize = (await handle.stat()).size;
    const buffer = {
      byteLength: fileSize,
      async slice(start: number, end = fileSize): Promise<ArrayBuffer> {
        const bytes = new Uint8Array(end - start);
        await handle.read(bytes, 0, bytes.length, start);
        return bytes.buffer;
      },
    };
    metadata = await parquetMetadataAsync(buffer, { parsers: RAW_PARSERS, initialFetchSize: FOOTER_FETCH_BYTES });
  } catch (error) {
    throw new Error(`cannot read the Parquet footer of ${path}: ${(error as Error).message}`);
  } finally {
    await handle.close();
  }

  const columns = topLevelColumns(metadata.schema);
  const dataFile: DataFile = {
    content: 0,
    filePath: fileUri,
    fileFormat: 'PARQUET',
    partition,
    recordCount: Number(metadata.num_rows),
    fileSizeInBytes: fileSize,
    columnSizes: new Map(),
    valueCounts: new Map(),
    nullValueCounts: new Map(),
    lowerBounds: new Map(),
    upperBounds: new Map(),
    splitOffsets: metadata.row_groups.map((rg) => rowGroupOffset(rg.columns, rg.file_offset)).sort((a, b) => a - b),
  };

  for (const field of schema.fields) {
    const column = columns.find((c) => c.element.field_id === field.id) ?? columns.find((c) => c.element.field_id === undefined && c.element.name === field.name);
    if (!column) {
      if (field.required) throw new Error(`Parquet file ${path} has no column for required field ${field.name} (id ${field.id})`);
      continue;
    }
    if (typeof field.type !== 'string') continue; // nested: no metrics
    checkCompatible(path, column.element, field);
    const chunks = metadata.row_groups.map((rg) => rg.columns[column.index]!.meta_data!);
    dataFile.columnSizes.set(field.id, chunks.reduce((sum, c) => sum + Number(c.total_compressed_size), 0));
    dataFile.valueCounts.set(field.id, chunks.reduce((sum, c) => sum + Number(c.num_values), 0));
    if (chunks.every((c) => c.statistics?.null_count !== undefined)) {
      dataFile.nullValueCounts.set(field.id, chunks.reduce((sum, c) => sum + Number(c.statistics!.null_count), 0));
    }
    const bounds = columnBounds(field.type, chunks);
    if (bounds) {
      const lower = lowerBound(field.type, bounds.min);
      const upper = upperBound(field.type, bounds.max);
      if (lower !== undefined) dataFile.lowerBounds.set(field.id, lower);
      if (upper !== undefined) dataFile.upperBounds.set(field.id, upper);
    }
  }
  return dataFile;
}

interface ParquetColumn {
  index: number;
  element: SchemaElement;
}

/** The leaf columns directly under the root, with their column chunk index. */
function topLevelColumns(schema: SchemaElement[]): ParquetColumn[] {
  const columns: ParquetColumn[] = [];
  let position = 1;
  let leafIndex = 0;
  const skip = (): number => {
    // Consumes one element and its subtree; returns how many leaves it held.
    const element = schema[position++]!;
    if (!element.num_children) return 1;
    let leaves = 0;
    for (let i = 0; i < element.num_children; i++) leaves += skip();
    return leaves;
  };
  for (let i = 0; i < (schema[0]?.num_children ?? 0); i++) {
    const element = schema[position]!;
    const leaves = skip();
    if (!element.num_children) columns.push({ index: leafIndex, element });
    leafIndex += leaves;
  }
  return columns;
}

function rowGroupOffset(columns: ColumnChunk[], fileOffset: bigint | undefined): number {
  const first = columns[0]?.meta_data;
  if (first) return Number(first.dictionary_page_offset ?? first.data_page_offset);
  return Number(fileOffset ?? 4n);
}

const PARQUET_TYPES: Record<string, string[]> = {
  boolean: ['BOOLEAN'],
  int: ['INT32'],
  long: ['INT64', 'INT32'],
  float: ['FLOAT'],
  double: ['DOUBLE', 'FLOAT'],
  date: ['INT32'],
  time: ['INT64'],
  timestamp: ['INT64'],
  timestamptz: ['INT64'],
  string: ['BYTE_ARRAY'],
  binary: ['BYTE_ARRAY'],
  uuid: ['FIXED_LEN_BYTE_ARRAY'],
};

function checkCompatible(path: string, element: SchemaElement, field: IcebergSchemaField): void {
  const allowed = PARQUET_TYPES[field.type] ?? (field.type.startsWith('fixed[') ? ['FIXED_LEN_BYTE_ARRAY'] : undefined);
  const unsigned = element.converted_type?.startsWith('UINT_') || (element.logical_type?.type === 'INTEGER' && !element.logical_type.isSigned);
  if ((allowed && !allowed.includes(element.type ?? '')) || (unsigned && field.type !== 'int' && field.type !== 'long') || (unsigned && element.type === 'INT64')) {
    throw new Error(`Parquet file ${path}: column ${element.name} is ${element.type}${unsigned ? ' unsigned' : ''}, which cannot hold Iceberg ${field.type} field ${field.name}`);
  }
}

/** Min and max over the row groups, or undefined when some row group with values has no statistics. */
function columnBounds(type: string, chunks: NonNullable<ColumnChunk['meta_data']>[]): { min: BoundValue; max: BoundValue } | undefined {
  if (type.startsWith('decimal(')) return undefined;
  const legacyOrderOk = type !== 'string' && type !== 'binary' && type !== 'uuid' && !type.startsWith('fixed[');
  let min: BoundValue | undefined;
  let max: BoundValue | undefined;
  for (const chunk of chunks) {
    const stats = chunk.statistics;
    if (stats?.null_count !== undefined && stats.null_count === chunk.num_values) continue; // all nulls
    const low = (stats?.min_value ?? (legacyOrderOk ? stats?.min : undefined)) as BoundValue | undefined;
    const high = (stats?.max_value ?? (legacyOrderOk ? stats?.max : undefined)) as BoundValue | undefined;
    if (low === undefined || high === undefined || low === null || high === null) return undefined;
    const lowValue = icebergValue(type, low);
    const highValue = icebergValue(type, high);
    if (lowValue === undefined || highValue === undefined) return undefined;
    if (min === undefined || compareValues(lowValue, min) < 0) min = lowValue;
    if (max === undefined || compareValues(highValue, max) > 0) max = highValue;
  }
  return min === undefined || max === undefined ? undefined : { min, max };
}

/** A raw statistic as the Iceberg type's bound value; undefined when it cannot serve as a bound. */
function icebergValue(type: string, raw: BoundValue): BoundValue | undefined {
  switch (type) {
    case 'int':
    case 'date':
      return Number(raw);
    case 'long':
    case 'time':
    case 'timestamp':
    case 'timestamptz':
      return typeof raw === 'bigint' ? raw : typeof raw === 'number' ? BigInt(raw) : undefined;
    case 'float':
    case 'double':
      return typeof raw === 'number' && !Number.isNaN(raw) ? raw : undefined;
    case 'string':
      return raw instanceof Uint8Array ? new TextDecoder('utf-8', { fatal: false }).decode(raw) : undefined;
    case 'uuid':
      return raw instanceof Uint8Array && raw.length === 16 ? Buffer.from(raw).toString('hex').replace(/^(.{8})(.{4})(.{4})(.{4})/, '$1-$2-$3-$4-') : undefined;
    default:
      return raw;
  }
}

function lowerBound(type: string, value: BoundValue): Uint8Array | undefined {
  if (type === 'string') return encodeBound(type, truncateCodePoints(value as string, BOUND_TRUNCATE_LENGTH));
  if (type === 'binary') return encodeBound(type, (value as Uint8Array).subarray(0, BOUND_TRUNCATE_LENGTH));
  return encodeBound(type, value);
}

/** A truncated upper bound must stay ≥ every value: the last kept unit is incremented (none left: no bound). */
function upperBound(type: string, value: BoundValue): Uint8Array | undefined {
  if (type === 'string') {
    const text = value as string;
    const kept = [...truncateCodePoints(text, BOUND_TRUNCATE_LENGTH)];
    if (kept.join('').length === text.length) return encodeBound(type, text);
    while (kept.length > 0) {
      let code = kept.pop()!.codePointAt(0)! + 1;
      if (code >= 0xd800 && code <= 0xdfff) code = 0xe000;
      if (code <= 0x10ffff) return encodeBound(type, kept.join('') + String.fromCodePoint(code));
    }
    return undefined;
  }
  if (type === 'binary') {
    const bytes = value as Uint8Array;
    if (bytes.length <= BOUND_TRUNCATE_LENGTH) return encodeBound(type, bytes);
    const kept = Uint8Array.from(bytes.subarray(0, BOUND_TRUNCATE_LENGTH));
    for (let i = kept.length - 1; i >= 0; i--) {
      if (kept[i]! < 0xff) {
        kept[i]++;
        return kept.subarray(0, i + 1);
      }
    }
    return undefined;
  }
  return encodeBound(type, value);
}

import type { Schema } from 'apache-arrow';
import { decodeBound, type DataFile, type ManifestFile, type PartitionSpec } from '@chainlake/iceberg';
import { parseTransform } from '@chainlake/partitioning';
import { FIELD_ID_KEY } from '@chainlake/schema';
import { columnKind, type ColumnKind, type Predicate } from './predicate.js';
import { mayMatch, type ColumnStats } from './prune.js';
import type { ScanFile } from './scan.js';

const ICEBERG_TYPES: Record<ColumnKind, string> = {
  int64: 'long',
  int32: 'int',
  timestamp: 'timestamptz',
  bool: 'boolean',
  string: 'string',
  hex: 'string',
  uint256: 'string',
};

function decoded(kind: ColumnKind, bytes: Uint8Array | undefined): unknown {
  if (bytes === undefined) return undefined;
  // String bounds stay UTF-8 bytes: pruning compares them byte-wise, exactly as written.
  if (ICEBERG_TYPES[kind] === 'string') return bytes;
  try {
    return decodeBound(ICEBERG_TYPES[kind], bytes);
  } catch {
    return undefined; // an unreadable bound (e.g. from a promoted column) is no bound
  }
}

/**
 * A scan file from an Iceberg data file: its path, record count, and the lower/upper bounds and
 * null counts of the schema's columns, matched by field id (`PARQUET:field_id` in the Arrow field
 * metadata; columns without one get no bounds).
 */
export function scanFileFromDataFile(file: DataFile, schema: Schema): ScanFile {
  const columnBounds = new Map<string, ColumnStats>();
  for (const field of schema.fields) {
    const id = Number(field.metadata.get(FIELD_ID_KEY));
    const kind = columnKind(field);
    if (!Number.isInteger(id) || !kind) continue;
    const stats: ColumnStats = {
      min: decoded(kind, file.lowerBounds.get(id)),
      max: decoded(kind, file.upperBounds.get(id)),
      nullCount: file.nullValueCounts.get(id),
    };
    if (stats.min !== undefined || stats.max !== undefined || stats.nullCount !== undefined) columnBounds.set(field.name, stats);
  }
  return { path: file.filePath, recordCount: file.recordCount, columnBounds };
}

/** Scan files from the data files an Iceberg scan plan yields, converted lazily. */
export async function* scanFilesFromDataFiles(files: AsyncIterable<DataFile> | Iterable<DataFile>, schema: Schema): AsyncGenerator<ScanFile> {
  for await (const file of files) yield scanFileFromDataFile(file, schema);
}

const DAY_MICROS = 86_400_000_000n;

/**
 * What a manifest's partition summary says of one column: the range of values its files can hold, for partition
 * fields whose transform keeps order (identity; truncate of an integer column; day of a timestamp column).
 */
function summaryStats(manifest: ManifestFile, spec: PartitionSpec, schema: Schema, column: string): ColumnStats | undefined {
  const field = schema.fields.find((f) => f.name === column);
  const kind = field && columnKind(field);
  if (!field || !kind) return undefined;
  const sourceId = Number(field.metadata.get(FIELD_ID_KEY));
  for (const [index, partitionField] of spec.fields.entries()) {
    if (partitionField['source-id'] !== sourceId) continue;
    const summary = manifest.partitions[index];
    if (!summary?.lowerBound || !summary.upperBound) continue;
    const transform = parseTransform(partitionField.transform);
    if (transform.kind === 'identity') return { min: decoded(kind, summary.lowerBound), max: decoded(kind, summary.upperBound) };
    if (transform.kind === 'truncate' && (kind === 'int64' || kind === 'int32')) {
      const low = BigInt(decodeBound(ICEBERG_TYPES[kind], summary.lowerBound) as bigint | number);
      const high = BigInt(decodeBound(ICEBERG_TYPES[kind], summary.upperBound) as bigint | number) + BigInt(transform.width) - 1n;
      return kind === 'int64' ? { min: low, max: high } : { min: Number(low), max: Number(high) };
    }
    if (transform.kind === 'day' && kind === 'timestamp') {
      const first = BigInt(decodeBound('date', summary.lowerBound) as number);
      const last = BigInt(decodeBound('date', summary.upperBound) as number);
      return { min: first * DAY_MICROS, max: (last + 1n) * DAY_MICROS - 1n };
    }
  }
  return undefined;
}

/**
 * A manifest filter for `planFiles`: false when the manifest's partition summaries prove that none of its files
 * can hold a row the predicate matches, so the manifest is never read.
 */
export function manifestFilter(predicate: Predicate | undefined, schema: Schema, specs: readonly PartitionSpec[]): ((manifest: ManifestFile) => boolean) | undefined {
  if (!predicate) return undefined;
  return (manifest) => {
    const spec = specs.find((s) => s['spec-id'] === manifest.partitionSpecId);
    if (!spec || spec.fields.length === 0) return true;
    return mayMatch(predicate, (column) => summaryStats(manifest, spec, schema, column));
  };
}

import type { Schema } from 'apache-arrow';
import { decodeBound, type DataFile } from '@chainlake/iceberg';
import { FIELD_ID_KEY } from '@chainlake/schema';
import { columnKind, type ColumnKind } from './predicate.js';
import type { ColumnStats } from './prune.js';
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

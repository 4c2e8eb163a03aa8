import { fileURLToPath } from 'node:url';
import { Schema, util, type Data, type RecordBatch } from 'apache-arrow';
import { ScanRequestError } from './errors.js';
import { compilePredicate, type RowMatcher } from './evaluate.js';
import { ParquetRowGroupReader, readFooter } from './parquet.js';
import { parseWhere, predicateColumns, type Predicate } from './predicate.js';
import { mayMatch, type ColumnStats } from './prune.js';
import { batchOf, selectedRows, takeRows } from './take.js';

/** One Parquet data file of a table, as a catalog lists it. */
export interface ScanFile {
  /** A local path or file:// URI. */
  path: string;
  recordCount?: number;
  /** Whole-file bounds by column name (e.g. from Iceberg lower/upper bounds), for pruning before the file is opened. */
  columnBounds?: Map<string, ColumnStats>;
}

/** How much a scan read and skipped; updated as it runs. */
export interface ScanStats {
  /** Files whose data was read. */
  filesScanned: number;
  /** Files skipped: by their bounds, or because no row group's statistics could match. */
  filesPruned: number;
  rowGroupsScanned: number;
  /** Row groups of opened files skipped by their statistics. */
  rowGroupsPruned: number;
  rowsRead: number;
  rowsReturned: number;
}

export interface ScanRequest {
  /** The table's schema. */
  schema: Schema;
  /** Columns to return, in this order; all by default. */
  columns?: unknown;
  /** The `where` JSON; see parseWhere. */
  where?: unknown;
  /** Stop after this many rows. */
  limit?: unknown;
}

/** A validated scan request. */
export interface ScanPlan {
  /** The schema of the returned batches: the table's fields in the requested order, metadata kept. */
  schema: Schema;
  predicate: Predicate | undefined;
  /** Projected columns, then the filter's other columns. */
  readColumns: string[];
  limit: number | undefined;
}

export interface ScanOptions extends ScanRequest {
  files: AsyncIterable<ScanFile> | Iterable<ScanFile>;
  /** Rows from outside the files (the hot tier), in the table's schema: read after the files, filtered, projected and limited like theirs. */
  extraBatches?: AsyncIterable<RecordBatch>;
  signal?: AbortSignal;
  /** Largest batch decoded at once; default 65,536 rows. */
  batchRows?: number;
}

export interface TableScan {
  schema: Schema;
  /** Reads lazily, one row group at a time; iterate once. */
  batches: AsyncIterable<RecordBatch>;
  stats: ScanStats;
}

const DEFAULT_BATCH_ROWS = 65_536;

function projectedFields(schema: Schema, columns: unknown): Schema['fields'] {
  if (columns === undefined || columns === null) return schema.fields;
  if (!Array.isArray(columns) || columns.some((c) => typeof c !== 'string')) {
    throw new ScanRequestError('column', `columns must be an array of column names, got ${JSON.stringify(columns)}`);
  }
  if (columns.length === 0) throw new ScanRequestError('column', 'columns is empty: name at least one column, or leave it out for all');
  const seen = new Set<string>();
  return (columns as string[]).map((name) => {
    const field = schema.fields.find((f) => f.name === name);
    if (!field) throw new ScanRequestError('column', `unknown column "${name}" (columns: ${schema.fields.map((f) => f.name).join(', ')})`);
    if (seen.has(name)) throw new ScanRequestError('column', `column "${name}" is requested twice`);
    seen.add(name);
    return field;
  });
}

/** Validates a scan request; throws {@link ScanRequestError} naming what is wrong. */
export function planScan(request: ScanRequest): ScanPlan {
  const fields = projectedFields(request.schema, request.columns);
  const predicate = parseWhere(request.where, request.schema);
  const { limit } = request;
  if (limit !== undefined && limit !== null && !(typeof limit === 'number' && Number.isSafeInteger(limit) && limit >= 0)) {
    throw new ScanRequestError('limit', `limit must be a non-negative integer, got ${JSON.stringify(limit)}`);
  }
  const names = fields.map((f) => f.name);
  return {
    schema: new Schema(fields, request.schema.metadata),
    predicate,
    readColumns: [...new Set([...names, ...predicateColumns(predicate)])],
    limit: limit ?? undefined,
  };
}

function localPath(path: string): string {
  if (path.startsWith('file:')) return fileURLToPath(path);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path)) throw new Error(`cannot read ${path}: only local files are supported`);
  return path;
}

/**
 * Filters and projects one batch read from a file: its columns come in the file's order and are
 * matched by name and checked against the table's types.
 */
function shape(plan: ScanPlan, path: string, batch: RecordBatch, match: RowMatcher | undefined): RecordBatch {
  const columns: Data[] = plan.schema.fields.map((field) => {
    const index = batch.schema.fields.findIndex((f) => f.name === field.name);
    const found = batch.schema.fields[index];
    if (!util.compareTypes(found.type, field.type)) {
      throw new Error(`Parquet file ${path}: column "${field.name}" is ${found.type}, the table's is ${field.type}`);
    }
    return batch.data.children[index];
  });
  if (!match) return batchOf(plan.schema, columns, batch.numRows);
  const rows = selectedRows(match(batch));
  if (rows.length === batch.numRows) return batchOf(plan.schema, columns, batch.numRows);
  return batchOf(
    plan.schema,
    columns.map((data) => takeRows(data, rows)),
    rows.length,
  );
}

async function* scanBatches(plan: ScanPlan, options: ScanOptions, stats: ScanStats): AsyncGenerator<RecordBatch> {
  let remaining = plan.limit ?? Number.POSITIVE_INFINITY;
  if (remaining === 0) return;
  const match = plan.predicate && compilePredicate(plan.predicate);
  for await (const { source, batch } of sourceBatches(plan, options, stats)) {
    options.signal?.throwIfAborted();
    stats.rowsRead += batch.numRows;
    let out = shape(plan, source, batch, match);
    if (out.numRows > remaining) out = out.slice(0, remaining);
    if (out.numRows === 0) continue;
    remaining -= out.numRows;
    stats.rowsReturned += out.numRows;
    yield out;
    if (remaining === 0) return;
  }
}

/** The batches of the files' row groups that may match (pruning counted in `stats`), then the extra batches. */
async function* sourceBatches(plan: ScanPlan, options: ScanOptions, stats: ScanStats): AsyncGenerator<{ source: string; batch: RecordBatch }> {
  const { predicate } = plan;
  const batchRows = options.batchRows ?? DEFAULT_BATCH_ROWS;
  for await (const file of options.files) {
    options.signal?.throwIfAborted();
    const fileStats = (column: string) => {
      const bounds = file.columnBounds?.get(column);
      return bounds && { ...bounds, rowCount: bounds.rowCount ?? file.recordCount };
    };
    if (file.recordCount === 0 || !mayMatch(predicate, fileStats)) {
      stats.filesPruned++;
      continue;
    }
    const path = localPath(file.path);
    const footer = await readFooter(path);
    const missing = plan.readColumns.find((name) => !footer.columns.includes(name));
    if (missing !== undefined) throw new Error(`Parquet file ${file.path} has no column "${missing}"`);
    const keep = footer.rowGroups.map((group) => mayMatch(predicate, (column) => group.stats.get(column)));
    if (!keep.includes(true)) {
      stats.filesPruned++;
      stats.rowGroupsPruned += keep.length;
      continue;
    }
    stats.filesScanned++;
    const reader = await ParquetRowGroupReader.open(path);
    try {
      for (const [index, wanted] of keep.entries()) {
        if (!wanted) {
          stats.rowGroupsPruned++;
          continue;
        }
        stats.rowGroupsScanned++;
        for await (const batch of reader.rowGroup(index, plan.readColumns, batchRows)) yield { source: file.path, batch };
      }
    } finally {
      reader.close();
    }
  }
  for await (const batch of options.extraBatches ?? []) yield { source: 'extra rows', batch };
}

/**
 * A filtered, projected scan over Parquet files: files are pruned by their bounds, row groups by
 * their statistics, and only the projected and filter columns of the remaining row groups are
 * decoded, one row group at a time. Stops reading once `limit` rows are out.
 * Request errors throw {@link ScanRequestError} here, before anything is read.
 */
export function scanTable(options: ScanOptions): TableScan {
  const plan = planScan(options);
  const stats: ScanStats = { filesScanned: 0, filesPruned: 0, rowGroupsScanned: 0, rowGroupsPruned: 0, rowsRead: 0, rowsReturned: 0 };
  return { schema: plan.schema, batches: scanBatches(plan, options, stats), stats };
}

/** The rows of a batch that satisfy the predicate (the batch itself when all do). */
export function filterBatch(batch: RecordBatch, predicate: Predicate | RowMatcher): RecordBatch {
  const match = typeof predicate === 'function' ? predicate : compilePredicate(predicate);
  const rows = selectedRows(match(batch));
  if (rows.length === batch.numRows) return batch;
  return batchOf(
    batch.schema,
    batch.data.children.map((data) => takeRows(data, rows)),
    rows.length,
  );
}

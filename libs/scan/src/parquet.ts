import { openAsBlob } from 'node:fs';
import { asyncBufferFromFile, parquetMetadataAsync, type ColumnMetaData, type SchemaElement } from 'hyparquet';
import * as parquet from 'parquet-wasm';
import { RecordBatchReader, type RecordBatch } from 'apache-arrow';
import type { ColumnStats } from './prune.js';

export interface RowGroupInfo {
  rows: number;
  /** Statistics of the top-level columns, by name. */
  stats: Map<string, ColumnStats>;
}

export interface ParquetFooter {
  rows: number;
  /** Names of the top-level columns. */
  columns: string[];
  rowGroups: RowGroupInfo[];
}

const FOOTER_PARSERS = {
  // Raw values, so that bounds keep their full precision and bytes: µs as bigint, strings as UTF-8.
  timestampFromMicroseconds: (micros: bigint) => micros,
  stringFromBytes: (bytes: Uint8Array) => bytes,
};
/** The footer usually sits in the last few KiB; hyparquet fetches more when it is larger. */
const FOOTER_FETCH_BYTES = 64 * 1024;

function columnStats(meta: ColumnMetaData, rows: number): ColumnStats {
  const stats = meta.statistics;
  // The deprecated min/max of byte arrays were ordered as signed bytes by old writers: not trusted.
  const legacyOk = meta.type !== 'BYTE_ARRAY' && meta.type !== 'FIXED_LEN_BYTE_ARRAY';
  return {
    min: stats?.min_value ?? (legacyOk ? stats?.min : undefined),
    max: stats?.max_value ?? (legacyOk ? stats?.max : undefined),
    nullCount: stats?.null_count,
    rowCount: rows,
  };
}

/** The flattened schema lists each column's children right after it (depth first). */
function topLevelColumns(schema: SchemaElement[]): string[] {
  const names: string[] = [];
  let i = 1;
  const skip = (): void => {
    const children = schema[i++].num_children ?? 0;
    for (let c = 0; c < children; c++) skip();
  };
  for (let c = 0; c < (schema[0]?.num_children ?? 0); c++) {
    names.push(schema[i].name);
    skip();
  }
  return names;
}

/** The row groups of a Parquet file with their column statistics, from its footer alone. */
export async function readFooter(path: string): Promise<ParquetFooter> {
  let metadata;
  try {
    metadata = await parquetMetadataAsync(await asyncBufferFromFile(path), { parsers: FOOTER_PARSERS, initialFetchSize: FOOTER_FETCH_BYTES });
  } catch (error) {
    throw new Error(`cannot read the footer of Parquet file ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const rowGroups = metadata.row_groups.map((group): RowGroupInfo => {
    const rows = Number(group.num_rows);
    const stats = new Map<string, ColumnStats>();
    for (const chunk of group.columns) {
      const path = chunk.meta_data?.path_in_schema;
      if (chunk.meta_data && path?.length === 1) stats.set(path[0], columnStats(chunk.meta_data, rows));
    }
    return { rows, stats };
  });
  return { rows: Number(metadata.num_rows), columns: topLevelColumns(metadata.schema), rowGroups };
}

/** An open Parquet file read one row group at a time (parquet-wasm decodes, Arrow IPC carries the batches out). */
export class ParquetRowGroupReader {
  private constructor(
    private readonly path: string,
    private readonly file: parquet.ParquetFile,
  ) {}

  static async open(path: string): Promise<ParquetRowGroupReader> {
    try {
      return new ParquetRowGroupReader(path, await parquet.ParquetFile.fromFile(await openAsBlob(path)));
    } catch (error) {
      throw new Error(`cannot open Parquet file ${path}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /** The named columns of one row group, in batches of at most batchRows rows; columns come in file order. */
  async *rowGroup(index: number, columns: string[], batchRows: number): AsyncGenerator<RecordBatch> {
    let stream: ReadableStream<parquet.RecordBatch>;
    try {
      stream = (await this.file.stream({ rowGroups: [index], columns, batchSize: batchRows })) as ReadableStream<parquet.RecordBatch>;
    } catch (error) {
      throw new Error(`reading row group ${index} of Parquet file ${this.path}: ${error instanceof Error ? error.message : String(error)}`);
    }
    const reader = stream.getReader();
    try {
      for (;;) {
        let next: Awaited<ReturnType<typeof reader.read>>;
        try {
          next = await reader.read();
        } catch (error) {
          throw new Error(`reading row group ${index} of Parquet file ${this.path}: ${error instanceof Error ? error.message : String(error)}`);
        }
        if (next.done) return;
        yield* RecordBatchReader.from(next.value.intoIPCStream());
      }
    } finally {
      // Stops the decoder when the consumer leaves early (limit reached, call cancelled).
      await reader.cancel().catch(() => {});
    }
  }

  close(): void {
    this.file.free();
  }
}

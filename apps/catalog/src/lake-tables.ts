import { fileURLToPath } from 'node:url';
import { Bool, DateDay, Field, Float32, Float64, Int32, Int64, Schema, TimestampMicrosecond, Utf8, type DataType } from 'apache-arrow';
import { currentSnapshot, planFiles, type FileIO, type IcebergSchema, type TableMetadata } from '@chainlake/iceberg';
import { scanFilesFromDataFiles } from '@chainlake/scan';
import { arrowSchema, dataset, FIELD_ID_KEY } from '@chainlake/schema';
import type { Catalog } from './catalog.js';
import { CatalogError } from './errors.js';

export interface LakeTableName {
  namespace: string;
  table: string;
}

const ICEBERG_TO_ARROW: Record<string, () => DataType> = {
  boolean: () => new Bool(),
  int: () => new Int32(),
  long: () => new Int64(),
  float: () => new Float32(),
  double: () => new Float64(),
  date: () => new DateDay(),
  string: () => new Utf8(),
  timestamp: () => new TimestampMicrosecond(),
  timestamptz: () => new TimestampMicrosecond('UTC'),
};

/**
 * The Arrow schema of a table: its dataset's (with the logical types scans filter by) when the archiver made it,
 * else mapped from the Iceberg schema (primitive types only).
 */
export function tableArrowSchema(metadata: TableMetadata): Schema {
  const datasetName = metadata.properties?.['chainlake.dataset'];
  if (datasetName) return arrowSchema(dataset(datasetName));
  const schema = metadata.schemas.find((s) => s['schema-id'] === metadata['current-schema-id']) as IcebergSchema;
  return new Schema(
    schema.fields.map((f) => {
      const type = ICEBERG_TO_ARROW[f.type];
      if (!type) throw new Error(`column ${f.name} has Iceberg type ${f.type}, which scans do not support yet`);
      return new Field(f.name, type(), !f.required, new Map([[FIELD_ID_KEY, String(f.id)]]));
    }),
  );
}

/** The catalog's tables as readers see them: names, Arrow schemas and the live files of a snapshot. */
export class LakeTables {
  constructor(
    private readonly catalog: Catalog,
    private readonly io: FileIO,
  ) {}

  async list(): Promise<LakeTableName[]> {
    return (await this.catalog.allTableNames()).map(({ namespace, name }) => ({ namespace, table: name }));
  }

  /** Every table with its Arrow schema, for SQL views; a table whose schema cannot be mapped is left out. */
  async listWithSchemas(): Promise<{ namespace: string; name: string; arrowSchema: Schema }[]> {
    const out: { namespace: string; name: string; arrowSchema: Schema }[] = [];
    for (const { namespace, table } of await this.list()) {
      const metadata = await this.metadata(namespace, table);
      if (!metadata) continue;
      try {
        out.push({ namespace, name: table, arrowSchema: tableArrowSchema(metadata) });
      } catch {
        continue;
      }
    }
    return out;
  }

  /** undefined when the table does not exist. */
  async metadata(namespace: string, table: string): Promise<TableMetadata | undefined> {
    try {
      return (await this.catalog.loadTable(namespace, table)).metadata;
    } catch (err) {
      if (err instanceof CatalogError && err.status === 404) return undefined;
      if (err instanceof CatalogError && err.status === 400) return undefined;
      throw err;
    }
  }

  /** A table at a snapshot (the current one by default) for a scan; undefined for an unknown table or snapshot. */
  async resolve(namespace: string, table: string, snapshotId?: number) {
    const metadata = await this.metadata(namespace, table);
    if (!metadata) return undefined;
    const snapshot = snapshotId === undefined ? currentSnapshot(metadata) : metadata.snapshots?.find((s) => s['snapshot-id'] === snapshotId);
    if (snapshotId !== undefined && !snapshot) return undefined;
    const schema = tableArrowSchema(metadata);
    const files = snapshot ? scanFilesFromDataFiles(planFiles(metadata, this.io, { snapshotId: snapshot['snapshot-id'] }), schema) : [];
    return { schema, files, totalRecords: snapshot ? Number(snapshot.summary['total-records'] ?? -1) : 0 };
  }

  /** Local paths of the current snapshot's data files. */
  async currentFilePaths(namespace: string, table: string): Promise<string[]> {
    const metadata = await this.metadata(namespace, table);
    if (!metadata || !currentSnapshot(metadata)) return [];
    const paths: string[] = [];
    for await (const file of planFiles(metadata, this.io)) paths.push(fileURLToPath(file.filePath));
    return paths;
  }
}

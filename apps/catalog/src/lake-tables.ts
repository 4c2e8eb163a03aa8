import { fileURLToPath } from 'node:url';
import { Bool, DateDay, Field, Float32, Float64, Int32, Int64, Schema, TimestampMicrosecond, Utf8, type DataType, type RecordBatch } from 'apache-arrow';
import { FlightError } from '@chainlake/flight';
import { HotStore, type HotSnapshot } from '@chainlake/hot';
import { currentSnapshot, planFiles, type FileIO, type IcebergSchema, type ManifestFile, type TableMetadata } from '@chainlake/iceberg';
import type { Pool } from '@chainlake/postgres';
import type { Metrics } from '@chainlake/service';
import { filterBatch, manifestFilter, parseWhere, scanFilesFromDataFiles, type Predicate, type ScanFile } from '@chainlake/scan';
import { arrowSchema, dataset, FIELD_ID_KEY, type DatasetDef } from '@chainlake/schema';
import type { Catalog } from './catalog.js';
import { CatalogError } from './errors.js';
import type { ResolvedTable } from './flight-scan.js';

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

/** Where the hot tier lives: the archiver's PostgreSQL schema, tables `hot_<namespace>_<dataset>`. */
export interface HotTier {
  pool: Pool;
  schema: string;
}

/** The catalog's tables as readers see them: names, Arrow schemas, the live files of a snapshot, and the hot tip. */
export class LakeTables {
  private readonly hotStores = new Map<string, HotStore>();
  private readonly manifests;
  private readonly files;

  constructor(
    private readonly catalog: Catalog,
    private readonly io: FileIO,
    private readonly hotTier: HotTier,
    metrics: Metrics,
  ) {
    this.manifests = metrics.counter('scan_manifests_total', 'Manifests considered by table scans: read, or pruned by their partition summaries', ['result']);
    this.files = metrics.counter('scan_files_total', 'Data files considered by table scans: scanned, or pruned by their statistics', ['result']);
  }

  async list(): Promise<LakeTableName[]> {
    return (await this.catalog.allTableNames()).map(({ namespace, name }) => ({ namespace, table: name }));
  }

  /** Every table with its Arrow schema, for SQL views; a table whose schema cannot be mapped is left out. */
  async listWithSchemas(): Promise<{ namespace: string; name: string; arrowSchema: Schema; hasHotTier: boolean }[]> {
    const out: { namespace: string; name: string; arrowSchema: Schema; hasHotTier: boolean }[] = [];
    for (const { namespace, table } of await this.list()) {
      const metadata = await this.metadata(namespace, table);
      if (!metadata) continue;
      try {
        out.push({ namespace, name: table, arrowSchema: tableArrowSchema(metadata), hasHotTier: metadata.properties?.['chainlake.dataset'] !== undefined });
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

  /**
   * A table at a snapshot (the current one by default) for a scan; undefined for an unknown table or snapshot.
   * With `includeHot`, also the hot tier's rows of every block no file of the snapshot holds. The hot snapshot is
   * taken before the table's metadata is read: a block the compactor commits after that read is still in the hot
   * snapshot (it deletes hot rows only after its commit), and one committed before is in the files, so no block is
   * missed and none is read twice.
   */
  async resolve(namespace: string, table: string, snapshotId?: number, includeHot = false, where?: unknown): Promise<ResolvedTable | undefined> {
    const hot = includeHot ? await this.hotSnapshot(namespace, table) : undefined;
    try {
      const metadata = await this.metadata(namespace, table);
      if (!metadata) {
        await hot?.snapshot.release();
        return undefined;
      }
      const snapshot = snapshotId === undefined ? currentSnapshot(metadata) : metadata.snapshots?.find((s) => s['snapshot-id'] === snapshotId);
      if (snapshotId !== undefined && !snapshot) {
        await hot?.snapshot.release();
        return undefined;
      }
      const schema = tableArrowSchema(metadata);
      const keepManifest = this.countedManifestFilter(manifestFilter(predicateOrNone(where, schema), schema, metadata['partition-specs']));
      const files = snapshot ? scanFilesFromDataFiles(planFiles(metadata, this.io, { snapshotId: snapshot['snapshot-id'], keepManifest }), schema) : [];
      const resolved = { schema, files, totalRecords: snapshot ? Number(snapshot.summary['total-records'] ?? -1) : 0 };
      if (!hot) return resolved;
      const covered: Array<[number, number]> = [];
      return {
        ...resolved,
        files: recordingBlockRanges(files, covered),
        extraBatches: rowsOutside(hot.snapshot.readRange(hot.def.name, 0, Number.MAX_SAFE_INTEGER), covered),
        close: () => hot.snapshot.release(),
      };
    } catch (err) {
      await hot?.snapshot.release();
      throw err;
    }
  }

  /** Counts manifests read and pruned; a pruned manifest's live files count as pruned files. */
  private countedManifestFilter(keep: ((manifest: ManifestFile) => boolean) | undefined): ((manifest: ManifestFile) => boolean) | undefined {
    if (!keep) return undefined;
    return (manifest) => {
      const kept = keep(manifest);
      this.manifests.inc({ result: kept ? 'read' : 'pruned' });
      if (!kept) this.files.inc({ result: 'pruned' }, manifest.addedFilesCount + manifest.existingFilesCount);
      return kept;
    };
  }

  private async hotSnapshot(namespace: string, table: string): Promise<{ def: DatasetDef; snapshot: HotSnapshot }> {
    const metadata = await this.metadata(namespace, table);
    const datasetName = metadata?.properties?.['chainlake.dataset'];
    if (!metadata) throw FlightError.notFound(`table ${namespace}.${table} does not exist`);
    if (!datasetName) throw FlightError.invalidArgument(`table ${namespace}.${table} is not a chain dataset: it has no hot tier`);
    const def = dataset(datasetName);
    let store = this.hotStores.get(namespace);
    if (!store) {
      store = new HotStore({ pool: this.hotTier.pool, schema: this.hotTier.schema, chain: namespace });
      this.hotStores.set(namespace, store);
    }
    // Once per dataset: creates the hot table if the archiver has not yet (same DDL), and lets the store read it.
    if (!store.datasets.includes(def)) await store.ensureTables([def]);
    return { def, snapshot: await store.snapshot() };
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

/** The parsed filter, or none when it is malformed: the scan itself then refuses it with the reason. */
function predicateOrNone(where: unknown, schema: Schema): Predicate | undefined {
  try {
    return parseWhere(where, schema);
  } catch {
    return undefined;
  }
}

/** Passes the files on, noting the block range each holds (a file holds every row of the blocks in its range). */
async function* recordingBlockRanges(files: AsyncIterable<ScanFile> | Iterable<ScanFile>, covered: Array<[number, number]>): AsyncGenerator<ScanFile> {
  for await (const file of files) {
    const bounds = file.columnBounds?.get('block_number');
    if (bounds?.min !== undefined && bounds.max !== undefined) covered.push([Number(bounds.min), Number(bounds.max)]);
    yield file;
  }
}

/** The rows of blocks outside every covered range; read after the files, when `covered` is complete. */
async function* rowsOutside(batches: AsyncIterable<RecordBatch>, covered: Array<[number, number]>): AsyncGenerator<RecordBatch> {
  let merged: Array<[number, number]> | undefined;
  for await (const batch of batches) {
    merged ??= mergeRanges(covered);
    const ranges = merged;
    const blocks = batch.getChild('block_number')!;
    yield filterBatch(batch, () => {
      const keep = new Uint8Array(batch.numRows);
      for (let i = 0; i < batch.numRows; i++) keep[i] = inRanges(ranges, Number(blocks.get(i))) ? 0 : 1;
      return keep;
    });
  }
}

function mergeRanges(ranges: Array<[number, number]>): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const [low, high] of [...ranges].sort((a, b) => a[0] - b[0])) {
    const last = out[out.length - 1];
    if (last && low <= last[1] + 1) last[1] = Math.max(last[1], high);
    else out.push([low, high]);
  }
  return out;
}

/** Binary search in sorted, disjoint ranges. */
function inRanges(ranges: Array<[number, number]>, block: number): boolean {
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (block < ranges[mid][0]) hi = mid - 1;
    else if (block > ranges[mid][1]) lo = mid + 1;
    else return true;
  }
  return false;
}

import { pathToFileURL } from 'node:url';
import {
  appendFiles, dataFileFromParquet, LocalFileIO, normalizeLocation, partitionValues, planFiles, recordedFiles,
  type DataFile, type IcebergSchema, type PartitionSpec, type RestCatalogClient, type UnboundPartitionField,
} from '@chainlake/iceberg';
import { parsePartitionPath, type PartitionScheme } from '@chainlake/partitioning';
import { icebergSchema, type DatasetDef } from '@chainlake/schema';

/** A file the archiver published: its absolute path and its partition directory name. */
export interface PublishedFile {
  fullPath: string;
  partition: string;
  start: number;
  end: number;
}

/** The Iceberg partition field of a partition scheme: truncate[size] of block_number, or day of the block timestamp. */
export function partitionField(def: DatasetDef, scheme: PartitionScheme): UnboundPartitionField {
  const fieldId = (name: string): number => def.columns.find((c) => c.name === name)!.fieldId;
  return scheme.kind === 'block_range'
    ? { 'source-id': fieldId(def.blockColumn), name: `${def.blockColumn}_trunc`, transform: `truncate[${scheme.size}]` }
    : { 'source-id': fieldId(def.timestampColumn), name: `${def.timestampColumn}_day`, transform: 'day' };
}

/**
 * One dataset's Iceberg table behind the REST catalog: created on first use, appended to after every
 * flush. The table's location must be the archiver's own table folder (catalog and archiver share the
 * warehouse), so the data files the catalog lists are the files the archiver wrote.
 */
export class IcebergTable {
  private readonly io = new LocalFileIO();
  private schema!: IcebergSchema;
  private spec!: PartitionSpec;

  constructor(
    private readonly catalog: RestCatalogClient,
    private readonly namespace: string,
    private readonly def: DatasetDef,
    private readonly scheme: PartitionScheme,
    private readonly tableDir: string,
  ) {}

  get name(): string {
    return `${this.namespace}.${this.def.name}`;
  }

  async open(): Promise<void> {
    await this.catalog.ensureNamespace(this.namespace);
    const blockColumn = this.def.columns.find((c) => c.name === this.def.blockColumn)!;
    const { metadata } = await this.catalog.ensureTable(this.namespace, this.def.name, {
      schema: icebergSchema(this.def),
      spec: { fields: [partitionField(this.def, this.scheme)] },
      sortOrder: { fields: [{ transform: 'identity', 'source-id': blockColumn.fieldId, direction: 'asc', 'null-order': 'nulls-first' }] },
      properties: { 'write.format.default': 'parquet', 'chainlake.dataset': this.def.name },
    });
    const expected = normalizeLocation(this.tableDir);
    if (normalizeLocation(metadata.location) !== expected) {
      throw new Error(
        `the catalog places ${this.name} at ${metadata.location}, but this archiver writes it to ${expected}: give the catalog and the archiver the same CHAINLAKE_WAREHOUSE`,
      );
    }
    this.schema = metadata.schemas.find((s) => s['schema-id'] === metadata['current-schema-id'])!;
    this.spec = metadata['partition-specs'].find((s) => s['spec-id'] === metadata['default-spec-id'])!;
  }

  /** Appends the files in one snapshot, retrying on concurrent commits; files the table holds or once held are skipped. */
  async append(files: readonly PublishedFile[], options: { skipCommitted?: boolean } = {}): Promise<number> {
    let candidates = files;
    if (options.skipCommitted && files.length > 0) {
      const { live, retired } = await this.tableFiles();
      candidates = files.filter((f) => !live.has(pathToFileURL(f.fullPath).href) && !retired.has(pathToFileURL(f.fullPath).href));
    }
    if (candidates.length === 0) return 0;
    const dataFiles = await Promise.all(candidates.map((f) => this.dataFile(f)));
    const first = Math.min(...candidates.map((f) => f.start));
    const last = Math.max(...candidates.map((f) => f.end));
    await this.catalog.commitWithRetry(
      this.namespace,
      this.def.name,
      (table, attempt) => appendFiles(table.metadata, this.io, dataFiles, { attempt, summary: { 'chainlake.block-range': `${first}-${last}` } }),
      { onConflict: (refused) => Promise.all(refused.writtenFiles.map((f) => this.io.delete(f))).then(() => undefined) },
    );
    return candidates.length;
  }

  private async dataFile(file: PublishedFile): Promise<DataFile> {
    const partition = parsePartitionPath(file.partition);
    const row =
      partition.kind === 'block_range'
        ? { [this.def.blockColumn]: BigInt(partition.start) }
        : { [this.def.timestampColumn]: BigInt(Date.parse(`${partition.date}T00:00:00Z`)) * 1000n };
    return dataFileFromParquet(file.fullPath, pathToFileURL(file.fullPath).href, partitionValues(this.spec, this.schema, row), this.schema);
  }

  /**
   * Data files the table once held and holds no longer: the compactor replaced them (merge, a hot→cold re-run) and they
   * stay on disk for time travel until its maintenance deletes them. Adopting or appending one again would bring its
   * rows back twice.
   */
  async retiredPaths(): Promise<Set<string>> {
    return (await this.tableFiles()).retired;
  }

  /** The data files of the current snapshot (live), and those only older snapshots still kept record (retired). */
  private async tableFiles(): Promise<{ live: Set<string>; retired: Set<string> }> {
    const { metadata } = await this.catalog.loadTable(this.namespace, this.def.name);
    const live = new Set<string>();
    for await (const file of planFiles(metadata, this.io)) live.add(normalizeLocation(file.filePath));
    const retired = new Set<string>();
    for await (const file of recordedFiles(metadata, this.io)) {
      const path = normalizeLocation(file.filePath);
      if (!live.has(path)) retired.add(path);
    }
    return { live, retired };
  }
}

import { stat } from 'node:fs/promises';
import { basename, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  appendFiles, dataFileFromParquet, decodeBound, LocalFileIO, normalizeLocation, overwriteFiles, planFiles,
  recordedFiles, replaceFiles, RestCatalogError, RestCommitConflictError,
  type DataFile, type IcebergSchema, type LoadedTable, type PartitionSpec, type RestCatalogClient, type TableCommit, type TableMetadata,
} from '@chainlake/iceberg';
import { sha256File, type LocalWarehouse, type ManifestFile, type ManifestStore, type WrittenFile } from '@chainlake/lake';
import { parseDataFileName } from '@chainlake/partitioning';
import type { DatasetDef } from '@chainlake/schema';

/** A data file live in the table's current snapshot, with the block range its name (or its statistics) gives. */
export interface LiveFile {
  dataFile: DataFile;
  /** Absolute local path. */
  path: string;
  /** Relative to the table folder, as manifest.json records it: `data/<partition>/<name>`. */
  rel: string;
  /** The partition folder, e.g. `block_range=0-9999`. */
  partitionPath: string;
  /** Every row of every block in [start, end] is in this file. */
  start: number;
  end: number;
}

/** A Parquet file written to staging, to be published at `data/<partitionPath>/<name>` by the commit. */
export interface OutputFile {
  staging: string;
  partitionPath: string;
  name: string;
  start: number;
  end: number;
  writeId: string;
  partition: DataFile['partition'];
  written: WrittenFile;
}

/** The table as loaded from the catalog, with what planning needs. */
export interface TableState {
  metadata: TableMetadata;
  metadataLocation: string | null;
  schema: IcebergSchema;
  spec: PartitionSpec;
  /** The block-range partition width (the spec's `truncate[W]` of block_number); undefined for other specs. */
  blockWidth: number | undefined;
}

export interface CommitPlan {
  outputs: readonly OutputFile[];
  /** Picks the files to remove from the live files at commit time (re-run on every attempt); throws to refuse. */
  remove(live: readonly LiveFile[]): LiveFile[];
  /** `replace`: same rows, other files (merge); `overwrite`: the rows of a block range replaced (hot→cold). */
  operation: 'replace' | 'overwrite';
  summary: Record<string, string>;
}

export interface Committed {
  snapshotId: number | undefined;
  removed: LiveFile[];
}

/**
 * One dataset's Iceberg table as the compactor works on it: loaded from the catalog, its live files with their block
 * ranges, and commits that publish staged files, commit one snapshot and keep manifest.json in step, all under the
 * table's manifest lock (the lock the archiver writes under).
 */
export class LakeTable {
  readonly io = new LocalFileIO();
  readonly tableDir: string;

  constructor(
    private readonly catalog: RestCatalogClient,
    private readonly warehouse: LocalWarehouse,
    private readonly manifests: ManifestStore,
    readonly namespace: string,
    readonly def: DatasetDef,
  ) {
    this.tableDir = warehouse.tableDir(namespace, def.name);
  }

  get name(): string {
    return `${this.namespace}.${this.def.name}`;
  }

  get blockFieldId(): number {
    return this.def.columns.find((c) => c.name === this.def.blockColumn)!.fieldId;
  }

  async load(): Promise<TableState> {
    let loaded: LoadedTable;
    try {
      loaded = await this.catalog.loadTable(this.namespace, this.def.name);
    } catch (err) {
      if (err instanceof RestCatalogError && err.status === 404) {
        throw new Error(`table ${this.name} does not exist in the catalog yet (the archiver creates it when it starts)`, { cause: err });
      }
      throw err;
    }
    const { metadata } = loaded;
    const expected = normalizeLocation(this.tableDir);
    if (normalizeLocation(metadata.location) !== expected) {
      throw new Error(`the catalog places ${this.name} at ${metadata.location}, but this compactor's warehouse has it at ${expected}: give the catalog and the compactor the same CHAINLAKE_WAREHOUSE`);
    }
    const schema = metadata.schemas.find((s) => s['schema-id'] === metadata['current-schema-id'])!;
    const spec = metadata['partition-specs'].find((s) => s['spec-id'] === metadata['default-spec-id'])!;
    const field = spec.fields.length === 1 && spec.fields[0]['source-id'] === this.blockFieldId ? /^truncate\[(\d+)\]$/.exec(spec.fields[0].transform) : null;
    return { metadata, metadataLocation: loaded.metadataLocation, schema, spec, blockWidth: field ? Number(field[1]) : undefined };
  }

  /** The live files of the table's current snapshot, in block order. */
  async liveFiles(metadata: TableMetadata): Promise<LiveFile[]> {
    const files: LiveFile[] = [];
    for await (const dataFile of planFiles(metadata, this.io)) {
      const path = this.io.localPath(dataFile.filePath);
      const rel = relative(this.tableDir, path).split(sep).join('/');
      const parts = rel.split('/');
      const { start, end } = this.blockRange(dataFile, basename(path));
      files.push({ dataFile, path, rel, partitionPath: parts.slice(1, -1).join('/'), start, end });
    }
    return files.sort((a, b) => a.start - b.start || a.end - b.end);
  }

  /** Lowest and highest block a file's rows hold, from its column statistics (else its name's range). */
  rowBlocks(file: LiveFile): { min: number; max: number } {
    const lower = file.dataFile.lowerBounds.get(this.blockFieldId);
    const upper = file.dataFile.upperBounds.get(this.blockFieldId);
    if (!lower || !upper) return { min: file.start, max: file.end };
    return { min: Number(decodeBound('long', lower)), max: Number(decodeBound('long', upper)) };
  }

  /**
   * Publishes the staged outputs, commits one snapshot that adds them and removes what `plan.remove` picks, and
   * records both in manifest.json — under the table's manifest lock. If the commit fails the published files are
   * deleted again: the table and manifest.json are as before.
   */
  async commit(state: TableState, plan: CommitPlan): Promise<Committed> {
    const finalPath = (o: OutputFile) => this.warehouse.dataPath(this.namespace, this.def.name, o.partitionPath, o.name);
    const added = await Promise.all(plan.outputs.map((o) => dataFileFromParquet(o.staging, pathToFileURL(finalPath(o)).href, o.partition, state.schema)));
    let result: Committed = { snapshotId: undefined, removed: [] };
    await this.manifests.update(this.namespace, this.def.name, async (manifest) => {
      const published: string[] = [];
      let removed: LiveFile[] = [];
      try {
        for (const output of plan.outputs) {
          await this.warehouse.publish(output.staging, finalPath(output));
          published.push(finalPath(output));
        }
        const committed = await this.catalog.commitWithRetry(
          this.namespace,
          this.def.name,
          async (table, attempt) => {
            removed = plan.remove(await this.liveFiles(table.metadata));
            const options = { attempt, summary: plan.summary };
            if (removed.length === 0) return appendFiles(table.metadata, this.io, added, options);
            const files = removed.map((f) => f.dataFile);
            return plan.operation === 'replace'
              ? replaceFiles(table.metadata, this.io, files, added, options)
              : overwriteFiles(table.metadata, this.io, files, added, options);
          },
          { onConflict: (refused) => Promise.all(refused.writtenFiles.map((f) => this.io.delete(f))).then(() => undefined) },
        );
        result = { snapshotId: committed.metadata['current-snapshot-id'], removed };
      } catch (err) {
        // A commit whose answer was lost (timeout, connection reset) may have landed: then its files must stay.
        const landed = published.length > 0 && !(err instanceof RestCommitConflictError) ? await this.holdsAll(published).catch(() => undefined) : false;
        if (landed !== true) {
          if (landed === false) await Promise.all(published.map((p) => this.io.delete(p)));
          throw err;
        }
        result = { snapshotId: (await this.load()).metadata['current-snapshot-id'], removed };
      }
      const gone = new Set(result.removed.map((f) => f.rel));
      const addedAt = new Date().toISOString();
      const recorded: ManifestFile[] = plan.outputs.map((o) => ({
        path: `data/${o.partitionPath}/${o.name}`, partition: o.partitionPath, start: o.start, end: o.end,
        rows: o.written.rows, bytes: o.written.bytes, sha256: o.written.sha256, writeId: o.writeId, addedAt,
      }));
      return { ...manifest, files: [...manifest.files.filter((f) => !gone.has(f.path)), ...recorded] };
    });
    return result;
  }

  /**
   * Brings manifest.json in step with the table after a crash between a commit and its manifest update: entries the
   * table once had but no longer holds are dropped, live files it lacks are recorded. Entries the table never knew
   * (files the archiver has yet to commit) are left alone.
   */
  async reconcileManifest(): Promise<{ dropped: number; recorded: number }> {
    const counts = { dropped: 0, recorded: 0 };
    await this.load(); // the table exists and the catalog answers, before the lock is taken
    await this.manifests.update(this.namespace, this.def.name, async (manifest) => {
      const { metadata } = await this.load();
      const live = await this.liveFiles(metadata);
      const livePaths = new Set(live.map((f) => f.rel));
      const listed = new Set(manifest.files.map((f) => f.path));
      const notLive = manifest.files.filter((f) => !livePaths.has(f.path));
      const known = notLive.length > 0 ? await this.knownPaths(metadata) : new Set<string>();
      const dropped = new Set(notLive.filter((f) => known.has(f.path)).map((f) => f.path));
      const recorded = await Promise.all(live.filter((f) => !listed.has(f.rel)).map((f) => this.manifestEntry(f)));
      counts.dropped = dropped.size;
      counts.recorded = recorded.length;
      if (dropped.size === 0 && recorded.length === 0) return manifest;
      return { ...manifest, files: [...manifest.files.filter((f) => !dropped.has(f.path)), ...recorded] };
    });
    return counts;
  }

  /** Whether every one of these local files is live in the table now. */
  private async holdsAll(paths: readonly string[]): Promise<boolean> {
    const live = new Set((await this.liveFiles((await this.load()).metadata)).map((f) => f.path));
    return paths.every((p) => live.has(p));
  }

  /** Commits a change built from the table as it is (re-built after a conflict); returns the commit accepted. */
  async commitChange<C extends TableCommit>(build: (table: LoadedTable) => Promise<C>): Promise<C> {
    let accepted!: C;
    await this.catalog.commitWithRetry(this.namespace, this.def.name, async (table) => (accepted = await build(table)));
    return accepted;
  }

  /** Paths (relative to the table folder) listed in manifest.json. */
  async listedPaths(): Promise<Set<string>> {
    return new Set((await this.manifests.read(this.namespace, this.def.name)).files.map((f) => f.path));
  }

  /** Runs fn holding the table's manifest lock (so no writer publishes or records files meanwhile). */
  withLock<T>(fn: () => Promise<T>): Promise<T> {
    return this.manifests.withTableLock(this.namespace, this.def.name, fn);
  }

  /** The file's path relative to the table folder, for a location the table records. */
  relativePath(location: string): string {
    return relative(this.tableDir, this.io.localPath(location)).split(sep).join('/');
  }

  /** Every data file any snapshot of the table has ever recorded (live or removed), relative to the table folder. */
  private async knownPaths(metadata: TableMetadata): Promise<Set<string>> {
    const known = new Set<string>();
    for await (const file of recordedFiles(metadata, this.io)) known.add(this.relativePath(file.filePath));
    return known;
  }

  private async manifestEntry(file: LiveFile): Promise<ManifestFile> {
    const name = basename(file.path);
    let writeId = '';
    try {
      writeId = parseDataFileName(name).writeId;
    } catch {
      // a file named by another writer: no write id
    }
    return {
      path: file.rel, partition: file.partitionPath, start: file.start, end: file.end, rows: file.dataFile.recordCount,
      bytes: (await stat(file.path)).size, sha256: await sha256File(file.path), writeId, addedAt: new Date().toISOString(),
    };
  }

  private blockRange(dataFile: DataFile, name: string): { start: number; end: number } {
    try {
      const parsed = parseDataFileName(name);
      return { start: parsed.start, end: parsed.end };
    } catch {
      const lower = dataFile.lowerBounds.get(this.blockFieldId);
      const upper = dataFile.upperBounds.get(this.blockFieldId);
      if (!lower || !upper) throw new Error(`data file ${dataFile.filePath} of ${this.name} has neither a block range in its name nor block_number statistics`);
      return { start: Number(decodeBound('long', lower)), end: Number(decodeBound('long', upper)) };
    }
  }
}

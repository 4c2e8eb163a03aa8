import { randomBytes, randomUUID } from 'node:crypto';
import type { AvroCodec } from './avro.js';
import { type FileIO, joinLocation, normalizeLocation } from './io.js';
import { readManifestEntries, readManifestList, writeManifest, writeManifestList } from './manifest.js';
import { MAIN_BRANCH } from './metadata.js';
import {
  EntryStatus,
  type DataFile,
  type ManifestEntry,
  type ManifestFile,
  type Snapshot,
  type SnapshotOperation,
  type TableMetadata,
  type TableRequirement,
  type TableUpdate,
} from './types.js';

/** A snapshot ready to commit: send `requirements` and `updates` to the catalog (REST CommitTableRequest). */
export interface SnapshotCommit {
  snapshot: Snapshot;
  /** The table is still this table and `main` is still at the base snapshot (or still absent). */
  requirements: TableRequirement[];
  /** add-snapshot, then set-snapshot-ref main. */
  updates: TableUpdate[];
  /** Manifests and the manifest list this attempt wrote; delete them if the commit is refused, then produce again. */
  writtenFiles: string[];
}

export interface ProduceOptions {
  nowMs?: number;
  /** Commit attempt number in the manifest list name (`snap-<id>-<attempt>-<uuid>.avro`), default 1. */
  attempt?: number;
  codec?: AvroCodec;
  /** Extra snapshot summary properties (e.g. the block range a commit covers). */
  summary?: Record<string, string>;
}

/** A file to remove, by its DataFile or its path as the manifest records it. */
export type RemovedFile = DataFile | string;

/** Adds data files (fast append: a new manifest, the base snapshot's manifests kept as they are). */
export async function appendFiles(metadata: TableMetadata, io: FileIO, added: readonly DataFile[], options: ProduceOptions = {}): Promise<SnapshotCommit> {
  if (added.length === 0) throw new Error('append needs at least one data file');
  return produceSnapshot(metadata, io, 'append', [], added, options);
}

/**
 * Replaces files without changing the table's data (compaction). Fails when a file to remove is no
 * longer live in the current snapshot: someone else removed it meanwhile, so produce again from fresh metadata.
 */
export async function replaceFiles(
  metadata: TableMetadata,
  io: FileIO,
  removed: readonly RemovedFile[],
  added: readonly DataFile[],
  options: ProduceOptions = {},
): Promise<SnapshotCommit> {
  if (removed.length === 0) throw new Error('replace needs at least one file to remove');
  return produceSnapshot(metadata, io, 'replace', removed, added, options);
}

/** Removes and adds files as one logical change of the data (e.g. rewriting a block range after a reorg). */
export async function overwriteFiles(
  metadata: TableMetadata,
  io: FileIO,
  removed: readonly RemovedFile[],
  added: readonly DataFile[],
  options: ProduceOptions = {},
): Promise<SnapshotCommit> {
  if (removed.length === 0 && added.length === 0) throw new Error('overwrite needs files to remove or to add');
  return produceSnapshot(metadata, io, 'overwrite', removed, added, options);
}

/** Removes whole data files. */
export async function deleteFiles(metadata: TableMetadata, io: FileIO, removed: readonly RemovedFile[], options: ProduceOptions = {}): Promise<SnapshotCommit> {
  if (removed.length === 0) throw new Error('delete needs at least one file to remove');
  return produceSnapshot(metadata, io, 'delete', removed, [], options);
}

/** A random positive snapshot id below 2^53 (exact as a JSON number), not yet used by the table. */
export function newSnapshotId(metadata?: TableMetadata): number {
  for (;;) {
    const id = Number(randomBytes(8).readBigUInt64BE() & ((1n << 53n) - 1n));
    if (id > 0 && !metadata?.snapshots?.some((s) => s['snapshot-id'] === id)) return id;
  }
}

/** The snapshot main points at, or undefined for a table without data yet. */
export function currentSnapshot(metadata: TableMetadata): Snapshot | undefined {
  const id = metadata.refs?.[MAIN_BRANCH]?.['snapshot-id'] ?? metadata['current-snapshot-id'];
  if (id === undefined || id === -1) return undefined;
  const snapshot = metadata.snapshots?.find((s) => s['snapshot-id'] === id);
  if (!snapshot) throw new Error(`table metadata names current snapshot ${id}, which its snapshot list lacks`);
  return snapshot;
}

async function produceSnapshot(
  metadata: TableMetadata,
  io: FileIO,
  operation: SnapshotOperation,
  removed: readonly RemovedFile[],
  added: readonly DataFile[],
  options: ProduceOptions,
): Promise<SnapshotCommit> {
  const schema = metadata.schemas.find((s) => s['schema-id'] === metadata['current-schema-id']);
  const spec = metadata['partition-specs'].find((s) => s['spec-id'] === metadata['default-spec-id']);
  if (!schema || !spec) throw new Error('table metadata lacks its current schema or default partition spec');
  for (const file of added) checkAddedFile(file, spec.fields.map((f) => f.name));

  const base = currentSnapshot(metadata);
  const baseManifests = base ? await readManifestList(io, base['manifest-list']) : [];
  if (baseManifests.some((m) => m.content !== 0)) throw new Error('the table has delete files (row-level deletes), which chainlake does not support');

  const nowMs = options.nowMs ?? Date.now();
  const snapshotId = newSnapshotId(metadata);
  const sequenceNumber = metadata['last-sequence-number'] + 1;
  const commitId = randomUUID();
  const metadataDir = joinLocation(metadata.location, 'metadata');
  const written: string[] = [];
  let manifestCount = 0;
  const nextManifestLocation = () => {
    const location = joinLocation(metadataDir, `${commitId}-m${manifestCount++}.avro`);
    written.push(location);
    return location;
  };

  try {
    const manifests: ManifestFile[] = [];
    if (added.length > 0) {
      const entries: ManifestEntry[] = added.map((dataFile) => ({
        status: EntryStatus.ADDED,
        snapshotId,
        sequenceNumber: null,
        fileSequenceNumber: null,
        dataFile,
      }));
      manifests.push(await writeManifest(io, nextManifestLocation(), entries, { schema, spec, snapshotId, sequenceNumber, codec: options.codec }));
    }

    const toRemove = new Set(removed.map((f) => normalizeLocation(typeof f === 'string' ? f : f.filePath)));
    const removedFound = new Set<string>();
    const removedFiles: DataFile[] = [];
    for (const manifest of baseManifests) {
      if (manifest.addedFilesCount + manifest.existingFilesCount === 0) continue; // nothing live left in it
      if (toRemove.size === 0) {
        manifests.push(manifest);
        continue;
      }
      const entries = (await readManifestEntries(io, manifest)).filter((e) => e.status !== EntryStatus.DELETED);
      if (!entries.some((e) => toRemove.has(normalizeLocation(e.dataFile.filePath)))) {
        manifests.push(manifest);
        continue;
      }
      const rewritten = entries.map((entry): ManifestEntry => {
        const path = normalizeLocation(entry.dataFile.filePath);
        if (!toRemove.has(path)) return { ...entry, status: EntryStatus.EXISTING };
        removedFound.add(path);
        removedFiles.push(entry.dataFile);
        return { ...entry, status: EntryStatus.DELETED, snapshotId };
      });
      const manifestSpec = metadata['partition-specs'].find((s) => s['spec-id'] === manifest.partitionSpecId);
      if (!manifestSpec) throw new Error(`manifest ${manifest.manifestPath} uses partition spec ${manifest.partitionSpecId}, which the table lacks`);
      manifests.push(
        await writeManifest(io, nextManifestLocation(), rewritten, { schema, spec: manifestSpec, snapshotId, sequenceNumber, codec: options.codec }),
      );
    }
    const missing = [...toRemove].filter((path) => !removedFound.has(path));
    if (missing.length > 0) {
      throw new Error(
        `${operation}: ${missing.length} file(s) to remove are not live in the current snapshot ${base?.['snapshot-id'] ?? '(none)'}` +
          ` (removed by a concurrent commit?): ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', …' : ''}`,
      );
    }

    const manifestList = joinLocation(metadataDir, `snap-${snapshotId}-${options.attempt ?? 1}-${commitId}.avro`);
    written.push(manifestList);
    await writeManifestList(io, manifestList, manifests, {
      snapshotId,
      parentSnapshotId: base?.['snapshot-id'] ?? null,
      sequenceNumber,
      codec: options.codec,
    });

    const snapshot: Snapshot = {
      'snapshot-id': snapshotId,
      ...(base ? { 'parent-snapshot-id': base['snapshot-id'] } : {}),
      'sequence-number': sequenceNumber,
      'timestamp-ms': nowMs,
      'manifest-list': manifestList,
      summary: { ...summarize(operation, base, baseManifests, added, removedFiles), ...(options.summary ?? {}), operation },
      'schema-id': schema['schema-id'],
    };
    return {
      snapshot,
      requirements: [
        { type: 'assert-table-uuid', uuid: metadata['table-uuid'] },
        { type: 'assert-ref-snapshot-id', ref: MAIN_BRANCH, 'snapshot-id': base?.['snapshot-id'] ?? null },
      ],
      updates: [
        { action: 'add-snapshot', snapshot },
        { action: 'set-snapshot-ref', 'ref-name': MAIN_BRANCH, type: 'branch', 'snapshot-id': snapshotId },
      ],
      writtenFiles: written,
    };
  } catch (error) {
    await Promise.all(written.map((location) => io.delete(location).catch(() => undefined)));
    throw error;
  }
}

function checkAddedFile(file: DataFile, partitionNames: string[]): void {
  const bad = (why: string) => new Error(`data file ${file.filePath || '(no path)'}: ${why}`);
  if (typeof file.filePath !== 'string' || file.filePath === '') throw bad('no file path');
  if (file.content !== 0) throw bad('only data files (content 0) can be added');
  if (!Number.isSafeInteger(file.recordCount) || file.recordCount < 0) throw bad(`invalid record count ${file.recordCount}`);
  if (!Number.isSafeInteger(file.fileSizeInBytes) || file.fileSizeInBytes < 0) throw bad(`invalid file size ${file.fileSizeInBytes}`);
  const keys = Object.keys(file.partition).sort();
  const expected = [...partitionNames].sort();
  if (keys.length !== expected.length || keys.some((k, i) => k !== expected[i])) {
    throw bad(`partition has fields [${keys.join(', ')}], the table's partition spec [${expected.join(', ')}]`);
  }
}

function summarize(
  operation: SnapshotOperation,
  base: Snapshot | undefined,
  baseManifests: readonly ManifestFile[],
  added: readonly DataFile[],
  removed: readonly DataFile[],
): Record<string, string> {
  const addedRecords = added.reduce((sum, f) => sum + f.recordCount, 0);
  const deletedRecords = removed.reduce((sum, f) => sum + f.recordCount, 0);
  const addedSize = added.reduce((sum, f) => sum + f.fileSizeInBytes, 0);
  const removedSize = removed.reduce((sum, f) => sum + f.fileSizeInBytes, 0);
  const baseTotal = (key: string, fromManifests: () => number | undefined): number | undefined => {
    if (!base) return 0;
    const value = base.summary[key];
    if (value !== undefined && /^\d+$/.test(value)) return Number(value);
    return fromManifests();
  };
  const liveManifests = baseManifests.filter((m) => m.addedFilesCount + m.existingFilesCount > 0);
  const totalRecords = baseTotal('total-records', () => liveManifests.reduce((s, m) => s + m.addedRowsCount + m.existingRowsCount, 0));
  const totalFiles = baseTotal('total-data-files', () => liveManifests.reduce((s, m) => s + m.addedFilesCount + m.existingFilesCount, 0));
  const totalSize = baseTotal('total-files-size', () => undefined);
  const summary: Record<string, string> = {
    operation,
    'added-data-files': String(added.length),
    'deleted-data-files': String(removed.length),
    'added-records': String(addedRecords),
    'deleted-records': String(deletedRecords),
    'added-files-size': String(addedSize),
    'removed-files-size': String(removedSize),
    'total-records': String(totalRecords! + addedRecords - deletedRecords),
    'total-data-files': String(totalFiles! + added.length - removed.length),
    'total-delete-files': '0',
    'total-position-deletes': '0',
    'total-equality-deletes': '0',
  };
  if (totalSize !== undefined) summary['total-files-size'] = String(totalSize + addedSize - removedSize);
  return summary;
}

import type { FileIO } from './io.js';
import { readManifestEntries, readManifestList } from './manifest.js';
import { currentSnapshot } from './snapshots.js';
import { EntryStatus, type DataFile, type ManifestFile, type Snapshot, type TableMetadata } from './types.js';

export interface PlanOptions {
  /** Default: the current snapshot. */
  snapshotId?: number;
  /** Return false to skip a whole manifest, e.g. when its partition summaries exclude the query's range. */
  keepManifest?(manifest: ManifestFile): boolean;
  /** Return false to skip a file, e.g. when its column bounds exclude the query's range. */
  keepFile?(file: DataFile): boolean;
}

/**
 * The live data files of a snapshot (ADDED and EXISTING entries; DELETED ones are history), one
 * manifest in memory at a time. A table without snapshots has no files.
 */
export async function* planFiles(metadata: TableMetadata, io: FileIO, options: PlanOptions = {}): AsyncIterable<DataFile> {
  const snapshot = options.snapshotId === undefined ? currentSnapshot(metadata) : snapshotById(metadata, options.snapshotId);
  if (!snapshot) return;
  const manifests = await readManifestList(io, snapshot['manifest-list']);
  if (manifests.some((m) => m.content !== 0)) throw new Error(`snapshot ${snapshot['snapshot-id']} has delete files (row-level deletes), which chainlake cannot apply`);
  for (const manifest of manifests) {
    if (manifest.addedFilesCount + manifest.existingFilesCount === 0) continue;
    if (options.keepManifest && !options.keepManifest(manifest)) continue;
    for (const entry of await readManifestEntries(io, manifest)) {
      if (entry.status === EntryStatus.DELETED) continue;
      if (options.keepFile && !options.keepFile(entry.dataFile)) continue;
      yield entry.dataFile;
    }
  }
}

/** Every data file a snapshot the table keeps records (live, or removed by a later snapshot), each once. */
export async function* recordedFiles(metadata: TableMetadata, io: FileIO): AsyncIterable<DataFile> {
  const manifestsSeen = new Set<string>();
  for (const snapshot of metadata.snapshots ?? []) {
    for (const manifest of await readManifestList(io, snapshot['manifest-list'])) {
      if (manifestsSeen.has(manifest.manifestPath)) continue;
      manifestsSeen.add(manifest.manifestPath);
      for (const entry of await readManifestEntries(io, manifest)) yield entry.dataFile;
    }
  }
}

/** The snapshot with this id; throws when the table has none such (expired or never existed). */
export function snapshotById(metadata: TableMetadata, snapshotId: number): Snapshot {
  const snapshot = metadata.snapshots?.find((s) => s['snapshot-id'] === snapshotId);
  if (!snapshot) throw new Error(`table has no snapshot ${snapshotId}`);
  return snapshot;
}

/**
 * The snapshot that was current at `timestampMs` (time travel "as of"): the last snapshot-log entry
 * at or before it; undefined before the first one.
 */
export function snapshotAt(metadata: TableMetadata, timestampMs: number): Snapshot | undefined {
  let found: number | undefined;
  for (const entry of metadata['snapshot-log'] ?? []) {
    if (entry['timestamp-ms'] <= timestampMs) found = entry['snapshot-id'];
  }
  return found === undefined ? undefined : metadata.snapshots?.find((s) => s['snapshot-id'] === found);
}

/** A snapshot and its ancestors, newest first, as far as the table still holds them. */
export function snapshotAncestry(metadata: TableMetadata, snapshotId: number): Snapshot[] {
  const byId = new Map((metadata.snapshots ?? []).map((s) => [s['snapshot-id'], s]));
  const chain: Snapshot[] = [];
  for (let s = byId.get(snapshotId); s && !chain.includes(s); s = s['parent-snapshot-id'] === undefined ? undefined : byId.get(s['parent-snapshot-id'])) {
    chain.push(s);
  }
  return chain;
}

import { type FileIO, type FileInfo, joinLocation, normalizeLocation } from './io.js';
import { readManifestEntries, readManifestList } from './manifest.js';
import { MAIN_BRANCH, parseMetadataVersion } from './metadata.js';
import { snapshotAncestry } from './scan.js';
import { EntryStatus, type Snapshot, type TableMetadata, type TableRequirement, type TableUpdate } from './types.js';

export interface ExpireOptions {
  /** Snapshots created before this instant may expire. */
  olderThanMs: number;
  /** The newest snapshots of main's history always kept, at least 1. */
  retainLast: number;
}

export interface ExpireResult {
  expiredSnapshotIds: number[];
  /** Commit these (a remove-snapshots update; nothing when no snapshot expires). */
  requirements: TableRequirement[];
  updates: TableUpdate[];
  /**
   * Manifest lists, manifests and data files that only expired snapshots reference. Delete them only
   * after the commit succeeded.
   */
  filesToDelete: string[];
}

/**
 * Plans snapshot expiry: snapshots older than `olderThanMs` expire, except the `retainLast` newest of
 * main's history and every snapshot a branch or tag points at. A file is to delete only when no
 * retained snapshot can reach it (data files: live in no retained snapshot).
 */
export async function expireSnapshots(metadata: TableMetadata, io: FileIO, options: ExpireOptions): Promise<ExpireResult> {
  if (!Number.isSafeInteger(options.retainLast) || options.retainLast < 1) throw new Error(`retainLast must be a positive integer, got ${options.retainLast}`);
  const snapshots = metadata.snapshots ?? [];
  const retainedIds = new Set<number>();
  for (const ref of Object.values(metadata.refs ?? {})) retainedIds.add(ref['snapshot-id']);
  const current = metadata.refs?.[MAIN_BRANCH]?.['snapshot-id'] ?? metadata['current-snapshot-id'];
  if (current !== undefined && current !== -1) {
    retainedIds.add(current);
    for (const s of snapshotAncestry(metadata, current).slice(0, options.retainLast)) retainedIds.add(s['snapshot-id']);
  }
  for (const s of snapshots) if (s['timestamp-ms'] >= options.olderThanMs) retainedIds.add(s['snapshot-id']);
  const retained = snapshots.filter((s) => retainedIds.has(s['snapshot-id']));
  const expired = snapshots.filter((s) => !retainedIds.has(s['snapshot-id']));
  if (expired.length === 0) return { expiredSnapshotIds: [], requirements: [], updates: [], filesToDelete: [] };

  const keep = await reachable(io, retained, false);
  const gone = await reachable(io, expired, true);
  const filesToDelete = [...gone].filter((location) => !keep.has(location));
  return {
    expiredSnapshotIds: expired.map((s) => s['snapshot-id']),
    requirements: [{ type: 'assert-table-uuid', uuid: metadata['table-uuid'] }],
    updates: [{ action: 'remove-snapshots', 'snapshot-ids': expired.map((s) => s['snapshot-id']) }],
    filesToDelete,
  };
}

export interface OrphanOptions {
  /** Only files last modified before this instant count (younger ones may belong to a commit in flight). */
  olderThanMs: number;
  /** The current metadata file, when known: metadata files of later versions are then kept too (commits in flight). */
  metadataFile?: string;
}

/**
 * Files under `<tableLocation>/data` and `<tableLocation>/metadata` that nothing of the table refers
 * to: no snapshot's manifest list, manifest or manifest entry (of any status), not the current
 * metadata file nor one in metadata-log, nor version-hint.text. Metadata files newer than every
 * referenced one are never orphans.
 */
export async function findOrphanFiles(metadata: TableMetadata, io: FileIO, tableLocation: string, options: OrphanOptions): Promise<FileInfo[]> {
  const referenced = await reachable(io, metadata.snapshots ?? [], true);
  const metadataFiles = [...(metadata['metadata-log'] ?? []).map((e) => e['metadata-file']), ...(options.metadataFile ? [options.metadataFile] : [])];
  for (const file of metadataFiles) referenced.add(normalizeLocation(file));
  const newestReferencedVersion = Math.max(0, ...metadataFiles.map((f) => parseMetadataVersion(f) ?? 0));
  const orphans: FileInfo[] = [];
  for (const folder of ['data', 'metadata']) {
    for await (const file of io.list(joinLocation(tableLocation, folder))) {
      if (file.modifiedMs >= options.olderThanMs) continue;
      if (referenced.has(normalizeLocation(file.location))) continue;
      const name = file.location.slice(file.location.lastIndexOf('/') + 1);
      if (folder === 'metadata' && name === 'version-hint.text') continue;
      if (name.endsWith('.metadata.json') && (newestReferencedVersion === 0 || (parseMetadataVersion(name) ?? 0) > newestReferencedVersion)) continue;
      orphans.push(file);
    }
  }
  return orphans;
}

/**
 * Normalized locations reachable from snapshots: manifest lists, manifests and data files. Data files
 * count when live (ADDED/EXISTING) or, with `withDeletedEntries`, in any entry.
 */
async function reachable(io: FileIO, snapshots: readonly Snapshot[], withDeletedEntries: boolean): Promise<Set<string>> {
  const all = new Set<string>();
  const manifestsSeen = new Set<string>();
  for (const snapshot of snapshots) {
    all.add(normalizeLocation(snapshot['manifest-list']));
    for (const manifest of await readManifestList(io, snapshot['manifest-list'])) {
      const path = normalizeLocation(manifest.manifestPath);
      all.add(path);
      if (manifestsSeen.has(path)) continue;
      manifestsSeen.add(path);
      for (const entry of await readManifestEntries(io, manifest)) {
        if (withDeletedEntries || entry.status !== EntryStatus.DELETED) all.add(normalizeLocation(entry.dataFile.filePath));
      }
    }
  }
  return all;
}

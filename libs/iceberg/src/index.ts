export type * from './types.js';
export { EntryStatus } from './types.js';
export { CommitConflictError, InvalidCommitError } from './errors.js';
export {
  type NewTableOptions,
  type UnboundPartitionField,
  MAIN_BRANCH,
  newTableMetadata,
  emptyTableMetadata,
  refSnapshotId,
  checkRequirements,
  applyUpdates,
  appendMetadataLog,
  metadataFileName,
  parseMetadataVersion,
  writeMetadataFiles,
} from './metadata.js';
export { type FileIO, type FileInfo, LocalFileIO, normalizeLocation, joinLocation } from './io.js';
export { type BoundValue, encodeBound, decodeBound, compareValues } from './bounds.js';
export {
  type ManifestContents,
  type WriteManifestOptions,
  type WriteManifestListOptions,
  writeManifest,
  readManifest,
  readManifestEntries,
  writeManifestList,
  readManifestList,
} from './manifest.js';
export { type AvroCodec } from './avro.js';
export { partitionTypes, partitionValues } from './partition.js';
export { BOUND_TRUNCATE_LENGTH, dataFileFromParquet } from './stats.js';
export {
  type SnapshotCommit,
  type ProduceOptions,
  type RemovedFile,
  appendFiles,
  replaceFiles,
  overwriteFiles,
  deleteFiles,
  newSnapshotId,
  currentSnapshot,
} from './snapshots.js';
export { type PlanOptions, planFiles, recordedFiles, snapshotById, snapshotAt, snapshotAncestry } from './scan.js';
export { type ExpireOptions, type ExpireResult, type OrphanOptions, expireSnapshots, findOrphanFiles } from './maintenance.js';
export { RestCatalogClient, RestCatalogError, RestCommitConflictError, type RestCatalogClientOptions, type LoadedTable, type CommittedTable, type TableCommit, type CreateTableOptions } from './rest-client.js';

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

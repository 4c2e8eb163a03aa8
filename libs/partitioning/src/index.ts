export {
  type BlockRange,
  MAX_SPLIT_PARTITIONS,
  blockRangePartition,
  splitByBlockRange,
} from './block-range.js';
export { datePartition } from './date.js';
export { type PartitionScheme, DEFAULT_PARTITION_BLOCKS, parsePartitionScheme, partitionPathFor } from './scheme.js';
export { type ParsedPartitionPath, parsePartitionPath } from './path.js';
export { type DataFileName, dataFileName, parseDataFileName, newWriteId } from './file-name.js';
export {
  type IcebergTransform,
  type TransformValue,
  parseTransform,
  formatTransform,
  transformResultType,
  applyTransform,
  bucketHash,
  murmur3Hash32,
  partitionPath,
  truncateCodePoints,
  minimalTwosComplement,
} from './iceberg-transforms.js';

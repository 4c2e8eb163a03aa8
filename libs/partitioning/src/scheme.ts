import { blockRangePartition, requireSafeNonNegative } from './block-range.js';
import { datePartition } from './date.js';

export type PartitionScheme = { kind: 'block_range'; size: number } | { kind: 'date' };

export const DEFAULT_PARTITION_BLOCKS = 10_000;

/** Parses `block_range:<size>`, `block_range` (size 10000) or `date`. */
export function parsePartitionScheme(text: string): PartitionScheme {
  const trimmed = text.trim();
  if (trimmed === 'date') return { kind: 'date' };
  if (trimmed === 'block_range') return { kind: 'block_range', size: DEFAULT_PARTITION_BLOCKS };
  const match = /^block_range:(\d+)$/.exec(trimmed);
  if (match) {
    const size = Number(match[1]);
    if (!Number.isSafeInteger(size) || size < 1) {
      throw new Error(`invalid partition scheme '${text}': block range size must be an integer from 1 to ${Number.MAX_SAFE_INTEGER}`);
    }
    return { kind: 'block_range', size };
  }
  throw new Error(`invalid partition scheme '${text}': expected 'block_range:<size>', 'block_range' or 'date'`);
}

/** The partition directory (`block_range=…` or `date=…`) of a row of `block` at `timestampMicros`. */
export function partitionPathFor(scheme: PartitionScheme, block: number, timestampMicros: bigint | number): string {
  requireSafeNonNegative(block, 'block');
  switch (scheme.kind) {
    case 'block_range':
      return blockRangePartition(block, scheme.size).path;
    case 'date':
      return datePartition(timestampMicros);
    default:
      throw new Error(`unknown partition scheme ${JSON.stringify(scheme)}`);
  }
}

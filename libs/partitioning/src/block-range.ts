/** An inclusive block range. */
export interface BlockRange {
  start: number;
  end: number;
}

/** A cap on splitByBlockRange's output so that a bad range cannot exhaust memory. */
export const MAX_SPLIT_PARTITIONS = 1_000_000;

export function requireSafeNonNegative(value: number, what: string): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new Error(`${what} must be an integer from 0 to ${Number.MAX_SAFE_INTEGER}, got ${String(value)}`);
  }
}

export function requirePartitionSize(size: number): void {
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 1) {
    throw new Error(`partition size must be an integer from 1 to ${Number.MAX_SAFE_INTEGER}, got ${String(size)}`);
  }
}

export function requireBlockRange(range: BlockRange): void {
  requireSafeNonNegative(range.start, 'range start');
  requireSafeNonNegative(range.end, 'range end');
  if (range.start > range.end) {
    throw new Error(`range start ${range.start} is after its end ${range.end}`);
  }
}

export function blockRangePath(start: number, end: number): string {
  return `block_range=${start}-${end}`;
}

/** The size-aligned partition holding `block`: start = block - block % size, end = start + size - 1. */
export function blockRangePartition(block: number, size: number): BlockRange & { path: string } {
  requireSafeNonNegative(block, 'block');
  requirePartitionSize(size);
  const start = block - (block % size);
  if (size - 1 > Number.MAX_SAFE_INTEGER - start) {
    throw new Error(
      `the partition of block ${block} with size ${size} would end after Number.MAX_SAFE_INTEGER (${Number.MAX_SAFE_INTEGER})`,
    );
  }
  const end = start + size - 1;
  return { start, end, path: blockRangePath(start, end) };
}

/** Cuts an inclusive range at partition boundaries: the pieces cover it exactly, in order, without overlap. */
export function splitByBlockRange(range: BlockRange, size: number): Array<BlockRange & { path: string }> {
  requireBlockRange(range);
  requirePartitionSize(size);
  const partitions = Math.floor(range.end / size) - Math.floor(range.start / size) + 1;
  if (partitions > MAX_SPLIT_PARTITIONS) {
    throw new Error(
      `range ${range.start}-${range.end} spans ${partitions} partitions of size ${size}, more than the limit of ${MAX_SPLIT_PARTITIONS}`,
    );
  }
  const pieces: Array<BlockRange & { path: string }> = [];
  let cursor = range.start;
  for (;;) {
    const partition = blockRangePartition(cursor, size);
    const end = Math.min(partition.end, range.end);
    pieces.push({ start: cursor, end, path: partition.path });
    if (end === range.end) return pieces;
    cursor = end + 1;
  }
}

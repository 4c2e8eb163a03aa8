import { requireSafeNonNegative } from './block-range.js';
import { isCalendarDate } from './date.js';

export type ParsedPartitionPath = { kind: 'block_range'; start: number; end: number } | { kind: 'date'; date: string };

/** Parses one partition directory name: `block_range=<start>-<end>` or `date=YYYY-MM-DD`. */
export function parsePartitionPath(path: string): ParsedPartitionPath {
  const range = /^block_range=(0|[1-9]\d*)-(0|[1-9]\d*)$/.exec(path);
  if (range) {
    const start = Number(range[1]);
    const end = Number(range[2]);
    try {
      requireSafeNonNegative(start, 'start');
      requireSafeNonNegative(end, 'end');
    } catch (error) {
      throw new Error(`invalid partition path '${path}': ${(error as Error).message}`);
    }
    if (start > end) throw new Error(`invalid partition path '${path}': start ${start} is after end ${end}`);
    return { kind: 'block_range', start, end };
  }
  const date = /^date=(.*)$/.exec(path);
  if (date) {
    if (!isCalendarDate(date[1])) throw new Error(`invalid partition path '${path}': '${date[1]}' is not a YYYY-MM-DD date`);
    return { kind: 'date', date: date[1] };
  }
  throw new Error(`invalid partition path '${path}': expected 'block_range=<start>-<end>' or 'date=YYYY-MM-DD'`);
}

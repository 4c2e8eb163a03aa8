import { randomBytes } from 'node:crypto';
import { requireSafeNonNegative } from './block-range.js';

export interface DataFileName {
  table: string;
  start: number;
  end: number;
  /** Sequence number of the file among those one write produced for this range. */
  n: number;
  writeId: string;
}

const TABLE_NAME = /^[a-z][a-z0-9_]*$/;
const WRITE_ID = /^[A-Za-z0-9]+$/;
const NUMBER = '(0|[1-9]\\d*)';
const FILE_NAME = new RegExp(`^([a-z][a-z0-9_]*)_${NUMBER}_${NUMBER}_${NUMBER}-([A-Za-z0-9]+)\\.parquet$`);

function validate(f: DataFileName): void {
  if (typeof f.table !== 'string' || !TABLE_NAME.test(f.table)) {
    throw new Error(`invalid table name '${String(f.table)}': expected [a-z][a-z0-9_]*`);
  }
  requireSafeNonNegative(f.start, 'start block');
  requireSafeNonNegative(f.end, 'end block');
  requireSafeNonNegative(f.n, 'file number');
  if (f.start > f.end) throw new Error(`start block ${f.start} is after end block ${f.end}`);
  if (typeof f.writeId !== 'string' || !WRITE_ID.test(f.writeId)) {
    throw new Error(`invalid write id '${String(f.writeId)}': expected [A-Za-z0-9]+`);
  }
}

/** `<table>_<start>_<end>_<n>-<writeId>.parquet` */
export function dataFileName(f: DataFileName): string {
  validate(f);
  return `${f.table}_${f.start}_${f.end}_${f.n}-${f.writeId}.parquet`;
}

export function parseDataFileName(name: string): DataFileName {
  const match = FILE_NAME.exec(name);
  if (!match) {
    throw new Error(`invalid data file name '${name}': expected '<table>_<start>_<end>_<n>-<writeid>.parquet'`);
  }
  const parsed: DataFileName = {
    table: match[1],
    start: Number(match[2]),
    end: Number(match[3]),
    n: Number(match[4]),
    writeId: match[5],
  };
  try {
    validate(parsed);
  } catch (error) {
    throw new Error(`invalid data file name '${name}': ${(error as Error).message}`);
  }
  return parsed;
}

const TIME_DIGITS = 9; // base-36 milliseconds: enough until the year 5188
const COUNTER_SPACE = 36 ** 3;
let lastMillis = 0;
let counter = 0;

/**
 * A short id (18 characters of [0-9a-z]) whose string order follows creation time: milliseconds,
 * then a per-process counter within the same millisecond, then randomness against other processes.
 */
export function newWriteId(): string {
  const now = Date.now();
  if (now > lastMillis) {
    lastMillis = now;
    counter = 0;
  } else {
    counter += 1;
    if (counter === COUNTER_SPACE) {
      // Borrow the next millisecond rather than wrap, so ids stay ordered.
      lastMillis += 1;
      counter = 0;
    }
  }
  const random = randomBytes(6).readUIntBE(0, 6).toString(36).padStart(10, '0').slice(-6);
  return lastMillis.toString(36).padStart(TIME_DIGITS, '0') + counter.toString(36).padStart(3, '0') + random;
}

import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  blockRangePartition,
  dataFileName,
  datePartition,
  newWriteId,
  parseDataFileName,
  parsePartitionPath,
  parsePartitionScheme,
  partitionPathFor,
  splitByBlockRange,
} from '../src/index.js';

const MAX = Number.MAX_SAFE_INTEGER;
const block = fc.integer({ min: 0, max: 1_000_000_000_000 });
const size = fc.integer({ min: 1, max: 1_000_000 });

describe('parsePartitionScheme', () => {
  it('parses the three accepted forms', () => {
    expect(parsePartitionScheme('block_range:5000')).toEqual({ kind: 'block_range', size: 5000 });
    expect(parsePartitionScheme('block_range')).toEqual({ kind: 'block_range', size: 10000 });
    expect(parsePartitionScheme(' date ')).toEqual({ kind: 'date' });
  });

  it.each(['', 'block_range:0', 'block_range:-1', 'block_range:1.5', 'block_range:99999999999999999', 'month', 'block_range:'])(
    "rejects '%s' with a message naming it",
    (text) => {
      expect(() => parsePartitionScheme(text)).toThrow(/invalid partition scheme/);
    },
  );
});

describe('blockRangePartition', () => {
  it('names the inclusive aligned range', () => {
    expect(blockRangePartition(10_000, 10_000)).toEqual({ start: 10_000, end: 19_999, path: 'block_range=10000-19999' });
    expect(blockRangePartition(19_999, 10_000).start).toBe(10_000);
    expect(blockRangePartition(0, 1)).toEqual({ start: 0, end: 0, path: 'block_range=0-0' });
  });

  it('puts every block in exactly one partition that contains it', () => {
    fc.assert(
      fc.property(block, size, (b, s) => {
        const p = blockRangePartition(b, s);
        expect(p.start).toBeLessThanOrEqual(b);
        expect(p.end).toBeGreaterThanOrEqual(b);
        expect(p.end - p.start + 1).toBe(s);
        expect(p.start % s).toBe(0);
        // Every other block of the same partition maps to the same partition, its neighbours outside do not.
        expect(blockRangePartition(p.start, s)).toEqual(p);
        expect(blockRangePartition(p.end, s)).toEqual(p);
        if (p.start > 0) expect(blockRangePartition(p.start - 1, s).end).toBe(p.start - 1);
        expect(blockRangePartition(p.end + 1, s).start).toBe(p.end + 1);
      }),
    );
  });

  it('rejects invalid blocks and sizes', () => {
    for (const bad of [-1, 1.5, NaN, Infinity, MAX + 1]) {
      expect(() => blockRangePartition(bad, 10)).toThrow(/block must be an integer/);
    }
    for (const bad of [0, -5, 2.5, NaN, MAX + 1]) {
      expect(() => blockRangePartition(5, bad)).toThrow(/partition size must be an integer/);
    }
  });

  it('rejects a partition that would end past MAX_SAFE_INTEGER instead of returning a wrong range', () => {
    expect(blockRangePartition(MAX, 1)).toEqual({ start: MAX, end: MAX, path: `block_range=${MAX}-${MAX}` });
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 1_000_000 }), (s) => {
        const start = MAX - (MAX % s);
        if (start + (s - 1) > MAX) expect(() => blockRangePartition(MAX, s)).toThrow(/MAX_SAFE_INTEGER/);
        else expect(blockRangePartition(MAX, s).end).toBe(start + s - 1);
      }),
    );
    expect(() => blockRangePartition(MAX - 1, 10)).toThrow(/MAX_SAFE_INTEGER/);
  });
});

describe('splitByBlockRange', () => {
  it('cuts a range at partition boundaries', () => {
    expect(splitByBlockRange({ start: 9_998, end: 20_001 }, 10_000)).toEqual([
      { start: 9_998, end: 9_999, path: 'block_range=0-9999' },
      { start: 10_000, end: 19_999, path: 'block_range=10000-19999' },
      { start: 20_000, end: 20_001, path: 'block_range=20000-29999' },
    ]);
  });

  it('covers the range exactly, in order, without overlap, each piece inside its partition', () => {
    fc.assert(
      fc.property(block, fc.integer({ min: 0, max: 50_000 }), fc.integer({ min: 1, max: 20_000 }), (start, length, s) => {
        const end = start + length;
        const pieces = splitByBlockRange({ start, end }, s);
        expect(pieces[0].start).toBe(start);
        expect(pieces[pieces.length - 1].end).toBe(end);
        for (let i = 0; i < pieces.length; i++) {
          const piece = pieces[i];
          expect(piece.start).toBeLessThanOrEqual(piece.end);
          const partition = blockRangePartition(piece.start, s);
          expect(piece.path).toBe(partition.path);
          expect(piece.end).toBeLessThanOrEqual(partition.end);
          if (i > 0) expect(piece.start).toBe(pieces[i - 1].end + 1);
        }
      }),
    );
  });

  it('rejects inverted, invalid and oversized ranges', () => {
    expect(() => splitByBlockRange({ start: 10, end: 9 }, 5)).toThrow(/after its end/);
    expect(() => splitByBlockRange({ start: -1, end: 9 }, 5)).toThrow(/range start must be/);
    expect(() => splitByBlockRange({ start: 0, end: 9 }, 0)).toThrow(/partition size/);
    expect(() => splitByBlockRange({ start: 0, end: 10_000_000 }, 1)).toThrow(/more than the limit/);
    expect(() => splitByBlockRange({ start: MAX - 3, end: MAX }, 10)).toThrow(/MAX_SAFE_INTEGER/);
  });
});

describe('datePartition', () => {
  it('names the UTC day of a microsecond timestamp', () => {
    const micros = BigInt(Date.UTC(2024, 11, 1, 23, 59, 59, 999)) * 1000n + 999n;
    expect(datePartition(micros)).toBe('date=2024-12-01');
    expect(datePartition(Number(micros) + 1)).toBe('date=2024-12-02');
    expect(datePartition(0)).toBe('date=1970-01-01');
    expect(datePartition(-1n)).toBe('date=1969-12-31');
  });

  it('agrees with Date for any timestamp in range', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }), (d) => {
        expect(datePartition(BigInt(d.getTime()) * 1000n)).toBe(`date=${d.toISOString().slice(0, 10)}`);
      }),
    );
  });

  it('rejects fractional numbers and years a path cannot name', () => {
    expect(() => datePartition(1.5)).toThrow(/integer number of microseconds/);
    expect(() => datePartition(BigInt(Date.UTC(10000, 0, 1)) * 1000n)).toThrow(/outside the years/);
  });
});

describe('partitionPathFor', () => {
  const ts = BigInt(Date.UTC(2024, 0, 2)) * 1000n;
  it('uses the scheme', () => {
    expect(partitionPathFor({ kind: 'block_range', size: 100 }, 250, ts)).toBe('block_range=200-299');
    expect(partitionPathFor({ kind: 'date' }, 250, ts)).toBe('date=2024-01-02');
  });
  it('rejects an invalid block under either scheme', () => {
    expect(() => partitionPathFor({ kind: 'date' }, -1, ts)).toThrow(/block must be/);
  });
});

describe('parsePartitionPath', () => {
  it('parses both kinds and round-trips generated paths', () => {
    expect(parsePartitionPath('date=2024-02-29')).toEqual({ kind: 'date', date: '2024-02-29' });
    fc.assert(
      fc.property(block, size, (b, s) => {
        const p = blockRangePartition(b, s);
        expect(parsePartitionPath(p.path)).toEqual({ kind: 'block_range', start: p.start, end: p.end });
      }),
    );
  });

  it.each([
    'block_range=10-5',
    'block_range=01-5',
    'block_range=1-99999999999999999',
    'block_range=a-b',
    'date=2023-02-29',
    'date=2024-13-01',
    'date=24-01-01',
    'data/block_range=0-9',
    'blocks=0-9',
  ])("rejects '%s'", (path) => {
    expect(() => parsePartitionPath(path)).toThrow(/invalid partition path/);
  });
});

describe('data file names', () => {
  const tableName = fc.stringMatching(/^[a-z][a-z0-9_]{0,20}$/);
  const writeId = fc.stringMatching(/^[A-Za-z0-9]{1,20}$/);
  const safe = fc.integer({ min: 0, max: MAX });

  it('formats the documented name', () => {
    expect(dataFileName({ table: 'transactions', start: 100, end: 199, n: 0, writeId: 'abc' })).toBe(
      'transactions_100_199_0-abc.parquet',
    );
  });

  it('round-trips through parseDataFileName, underscores and digits in the table name included', () => {
    fc.assert(
      fc.property(tableName, safe, safe, safe, writeId, (table, a, b, n, id) => {
        const f = { table, start: Math.min(a, b), end: Math.max(a, b), n, writeId: id };
        expect(parseDataFileName(dataFileName(f))).toEqual(f);
      }),
    );
    expect(parseDataFileName('erc20_transfers_1_2_3-x9.parquet')).toEqual({
      table: 'erc20_transfers',
      start: 1,
      end: 2,
      n: 3,
      writeId: 'x9',
    });
  });

  it.each([
    { table: 'Transactions', start: 0, end: 1, n: 0, writeId: 'a' },
    { table: '1tx', start: 0, end: 1, n: 0, writeId: 'a' },
    { table: 'tx', start: 2, end: 1, n: 0, writeId: 'a' },
    { table: 'tx', start: -1, end: 1, n: 0, writeId: 'a' },
    { table: 'tx', start: 0, end: MAX + 1, n: 0, writeId: 'a' },
    { table: 'tx', start: 0, end: 1, n: 0.5, writeId: 'a' },
    { table: 'tx', start: 0, end: 1, n: 0, writeId: 'a-b' },
    { table: 'tx', start: 0, end: 1, n: 0, writeId: '' },
  ])('dataFileName rejects %j', (f) => {
    expect(() => dataFileName(f)).toThrow();
  });

  it.each([
    'tx_1_2_3-a.csv',
    'tx_1_2-a.parquet',
    'tx_01_2_3-a.parquet',
    'tx_2_1_3-a.parquet',
    'tx_1_99999999999999999_3-a.parquet',
    'Tx_1_2_3-a.parquet',
    'tx_1_2_3-a_b.parquet',
    '../tx_1_2_3-a.parquet',
  ])("parseDataFileName rejects '%s'", (name) => {
    expect(() => parseDataFileName(name)).toThrow(/invalid data file name/);
  });
});

describe('newWriteId', () => {
  it('is short, valid in a file name, unique and ordered by creation', () => {
    const ids = Array.from({ length: 5000 }, () => newWriteId());
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    for (const id of ids.slice(0, 10)) {
      expect(id).toMatch(/^[0-9a-z]{18}$/);
      expect(parseDataFileName(dataFileName({ table: 't', start: 0, end: 0, n: 0, writeId: id })).writeId).toBe(id);
    }
  });
});

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { arrowSchema, transactions } from '@chainlake/schema';
import { mayMatch, parseWhere, type ColumnStats } from '../src/index.js';
import { matches, randomRow, tryParse, where, type RandomRow } from './random.js';

const schema = arrowSchema(transactions);
const blockStats = (min: bigint, max: bigint, extra: Partial<ColumnStats> = {}) => (column: string) =>
  column === 'block_number' ? { min, max, ...extra } : undefined;

describe('mayMatch', () => {
  const may = (where: unknown, stats: (column: string) => ColumnStats | undefined) => mayMatch(parseWhere(where, schema), stats);

  it('rules out ranges the bounds exclude and keeps every range they overlap', () => {
    const stats = blockStats(100n, 199n);
    expect(may({ block_number: { eq: 99 } }, stats)).toBe(false);
    expect(may({ block_number: { eq: 100 } }, stats)).toBe(true);
    expect(may({ block_number: { lt: 100 } }, stats)).toBe(false);
    expect(may({ block_number: { lte: 100 } }, stats)).toBe(true);
    expect(may({ block_number: { gt: 199 } }, stats)).toBe(false);
    expect(may({ block_number: { gte: 199 } }, stats)).toBe(true);
    expect(may({ block_number: { between: [200, 300] } }, stats)).toBe(false);
    expect(may({ block_number: { between: [150, 300] } }, stats)).toBe(true);
    expect(may({ block_number: { in: [5, 250] } }, stats)).toBe(false);
    expect(may({ block_number: { in: [5, 150] } }, stats)).toBe(true);
    expect(may({ block_number: { ne: 150 } }, blockStats(150n, 150n))).toBe(false);
    expect(may({ or: [{ block_number: { lt: 50 } }, { block_number: { gt: 150 } }] }, stats)).toBe(true);
    expect(may({ or: [{ block_number: { lt: 50 } }, { block_number: { gt: 250 } }] }, stats)).toBe(false);
    expect(may({ block_number: { gte: 150 }, gas_used: { gt: 0 } }, stats)).toBe(true);
  });

  it('is conservative: unknown or unusable statistics may match', () => {
    expect(may({ block_number: { eq: 5 } }, () => undefined)).toBe(true);
    expect(may({ block_number: { eq: 5 } }, () => ({ min: 'not a number', max: new Date() }))).toBe(true);
    expect(may({ block_number: { lt: 5 } }, () => ({ max: 3n }))).toBe(true);
    expect(may({ block_number: { gt: 5 } }, () => ({ max: 3 }))).toBe(false);
    // Lexical bounds of decimal strings say nothing about numbers ('10' < '9').
    expect(may({ value: { gt: 50 } }, () => ({ min: '10', max: '9' }))).toBe(true);
  });

  it('rules out all-null and empty row sets', () => {
    expect(may({ to_address: { ne: '0x00' } }, () => ({ nullCount: 10n, rowCount: 10 }))).toBe(false);
    expect(may({ to_address: { ne: '0x00' } }, () => ({ nullCount: 9n, rowCount: 10 }))).toBe(true);
    expect(may({ block_number: { gte: 0 } }, () => ({ rowCount: 0 }))).toBe(false);
  });

  it('orders string bounds by UTF-8 bytes, as Parquet does, whether given as strings or bytes', () => {
    const stats = { min: '0x10', max: new TextEncoder().encode('0x20') };
    expect(may({ from_address: { eq: '0x1f' } }, () => stats)).toBe(true);
    expect(may({ from_address: { eq: '0x21' } }, () => stats)).toBe(false);
    expect(may({ from_address: { lt: '0x10' } }, () => stats)).toBe(false);
  });

  it('never rules out a row set holding a matching row (random data, filters and exact bounds)', () => {
    let ruledOut = 0;
    fc.assert(
      fc.property(fc.array(randomRow, { minLength: 1, maxLength: 30 }), where, fc.boolean(), (rows, node, asBytes) => {
        const predicate = tryParse(node);
        fc.pre(predicate !== undefined);
        const stats = (column: string): ColumnStats => {
          const values = rows.map((row) => row[column as keyof RandomRow]).filter((v) => v !== null);
          const order = (a: unknown, b: unknown) =>
            typeof a === 'string' ? Buffer.compare(Buffer.from(a), Buffer.from(b as string)) : a! < b! ? -1 : a! > b! ? 1 : 0;
          values.sort(order);
          const text = (v: unknown) => (asBytes && typeof v === 'string' ? new TextEncoder().encode(v) : v);
          return { min: text(values[0]), max: text(values.at(-1)), nullCount: rows.length - values.length, rowCount: rows.length };
        };
        const possible = mayMatch(predicate, stats);
        if (!possible) ruledOut++;
        if (!possible) expect(rows.filter((row) => matches(node, row))).toEqual([]);
      }),
      { numRuns: 600 },
    );
    expect(ruledOut).toBeGreaterThan(30);
  });
});

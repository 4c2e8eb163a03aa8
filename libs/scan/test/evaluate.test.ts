import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { arrowSchema, transactions } from '@chainlake/schema';
import { makeData, RecordBatch, Struct, Utf8, vectorFromArray } from 'apache-arrow';
import { compilePredicate, filterBatch, parseWhere } from '../src/index.js';
import { batchFromRows, matches, randomRow, randomSchema, rowsOf, tryParse, where, type RandomRow } from './random.js';

describe('predicate evaluation', () => {
  it('selects exactly the rows a brute-force filter selects, on random data and filters', () => {
    fc.assert(
      fc.property(fc.array(randomRow, { maxLength: 80 }), where, fc.nat(10), (rows, node, cut) => {
        const predicate = tryParse(node);
        fc.pre(predicate !== undefined);
        const batch = batchFromRows(rows);
        expect(rowsOf(filterBatch(batch, predicate!))).toEqual(rows.filter((row) => matches(node, row)));
        // A sliced batch (non-zero offsets into every buffer) must give the same answer for its rows.
        const start = Math.min(cut, rows.length);
        expect(rowsOf(filterBatch(batch.slice(start), predicate!))).toEqual(rows.slice(start).filter((row) => matches(node, row)));
      }),
      { numRuns: 400 },
    );
  });

  it('compares uint256 decimal strings as numbers, never lexically', () => {
    const schema = arrowSchema(transactions).select(['value']);
    const values = ['9', '10', '100', '99', '0', '115792089237316195423570985008687907853269984665640564039457584007913129639935', '1000000000000000000'];
    const column = vectorFromArray(values, new Utf8()).data[0];
    const batch = new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: values.length, nullCount: 0, children: [column] }));
    const run = (where: unknown) => {
      const predicate = parseWhere(where, schema)!;
      const mask = compilePredicate(predicate)(batch);
      return values.filter((_, i) => mask[i] === 1);
    };
    expect(run({ value: { gt: 9 } })).toEqual(['10', '100', '99', '115792089237316195423570985008687907853269984665640564039457584007913129639935', '1000000000000000000']);
    expect(run({ value: { lt: '100' } })).toEqual(['9', '10', '99', '0']);
    expect(run({ value: { between: ['10', '99'] } })).toEqual(['10', '99']);
    expect(run({ value: { gte: '1000000000000000000' } })).toEqual(['115792089237316195423570985008687907853269984665640564039457584007913129639935', '1000000000000000000']);
  });

  it('never matches nulls, not even with ne', () => {
    const rows: RandomRow[] = [
      { i64: null, i32: null, ts: null, flag: null, name: null, addr: null, amount: null },
      { i64: 1n, i32: 1, ts: 1n, flag: true, name: 'a', addr: '0x01', amount: '1' },
    ];
    const batch = batchFromRows(rows);
    for (const column of ['i64', 'i32', 'ts', 'amount']) {
      expect(filterBatch(batch, parseWhere({ [column]: { ne: 5 } }, randomSchema)!).numRows).toBe(1);
    }
    expect(filterBatch(batch, parseWhere({ name: { ne: 'zz' } }, randomSchema)!).numRows).toBe(1);
    expect(filterBatch(batch, parseWhere({ flag: { in: [true, false] } }, randomSchema)!).numRows).toBe(1);
  });
});

import { describe, expect, it } from 'vitest';
import { Aggregation, parseDefinition, type Filter } from '../src/index.js';
import { aggregate, bruteForce } from './brute.js';
import { expectMatches, run } from './check.js';
import { ADDRESSES, randomRows, T0, txBatch, type TxRow } from './fixtures.js';

const rows = randomRows(31, 200);
const window = { kind: 'tumbling', sizeMs: 120_000 } as const;
const aggregates = [{ fn: 'count' }, { fn: 'sum', column: 'value' }, { fn: 'min', column: 'gas_used' }];

describe('filters keep exactly the rows their predicate keeps', () => {
  const big = '5000000000000000000000';
  const cases: [string, Filter, (r: TxRow) => boolean][] = [
    ['eq on hex (literal case ignored)', { column: 'from_address', op: 'eq', value: ADDRESSES[1].toUpperCase().replace('0X', '0x') }, (r) => r.from_address === ADDRESSES[1]],
    ['ne on int32', { column: 'transaction_type', op: 'ne', value: 2 }, (r) => r.transaction_type !== 2],
    ['gt on uint256 above 2^64', { column: 'value', op: 'gt', value: big }, (r) => BigInt(r.value) > BigInt(big)],
    ['gte on int64', { column: 'gas_used', op: 'gte', value: 150_000 }, (r) => r.gas_used >= 150_000],
    ['lt on uint256 as a number', { column: 'gas_price', op: 'lt', value: 20_000_000_000 }, (r) => BigInt(r.gas_price) < 20_000_000_000n],
    ['lte on a timestamp (ISO)', { column: 'block_timestamp', op: 'lte', value: new Date(T0 + 600_000).toISOString() }, (r) => r.block_timestamp <= T0 + 600_000],
    ['in on a nullable hex column (null never matches)', { column: 'to_address', op: 'in', values: [ADDRESSES[0], ADDRESSES[3]] }, (r) => r.to_address === ADDRESSES[0] || r.to_address === ADDRESSES[3]],
    ['in on int32', { column: 'transaction_type', op: 'in', values: [0, '1'] }, (r) => r.transaction_type <= 1],
    ['between on int64', { column: 'gas_used', op: 'between', low: 50_000, high: 100_000 }, (r) => r.gas_used >= 50_000 && r.gas_used <= 100_000],
    ['between on a timestamp (epoch ms)', { column: 'block_timestamp', op: 'between', low: T0 + 300_000, high: T0 + 900_000 }, (r) => r.block_timestamp >= T0 + 300_000 && r.block_timestamp <= T0 + 900_000],
    ['eq on bool', { column: 'success', op: 'eq', value: 'false' }, (r) => !r.success],
    ['ne on a nullable uint256 (null never matches)', { column: 'max_fee_per_gas', op: 'ne', value: '1' }, (r) => r.max_fee_per_gas !== null],
    [
      'nested and/or',
      {
        or: [
          { and: [{ column: 'success', op: 'eq', value: 'true' }, { column: 'gas_used', op: 'gt', value: 200_000 }] },
          { column: 'from_address', op: 'in', values: [ADDRESSES[4]] },
        ],
      },
      (r) => (r.success && r.gas_used > 200_000) || r.from_address === ADDRESSES[4],
    ],
  ];
  for (const [label, filter, keep] of cases) {
    it(label, () => {
      const def = parseDefinition({ name: 'filtered', dataset: 'transactions', window, filter, aggregates });
      const kept = rows.filter(keep);
      expect(kept.length).toBeGreaterThan(0);
      expect(kept.length).toBeLessThan(rows.length);
      const { results, agg } = run(def, rows, 8);
      expectMatches(def, results, bruteForce(def, kept));
      expect(agg.lateRowsDropped).toBe(0);
    });
  }

  it('lets rows the filter drops advance the watermark', () => {
    const def = parseDefinition({
      name: 'rare',
      dataset: 'transactions',
      window: { kind: 'tumbling', sizeMs: 60_000 },
      filter: { column: 'from_address', op: 'eq', value: ADDRESSES[0] },
      aggregates: [{ fn: 'count' }],
    });
    const agg = new Aggregation(def);
    agg.add(txBatch([{ ...rows[0], block_timestamp: T0, from_address: ADDRESSES[0] }]));
    expect(agg.fire()).toEqual([]);
    agg.add(txBatch([{ ...rows[0], block_timestamp: T0 + 61_000, from_address: ADDRESSES[1] }]));
    expect(agg.fire().map((r) => [r.windowStart, r.values])).toEqual([[new Date(T0).toISOString(), { count: 1 }]]);
    expect(agg.current()).toEqual([]);
  });
});

describe('topK', () => {
  for (const order of ['desc', 'asc'] as const) {
    it(`emits only the ${order === 'desc' ? 'largest' : 'smallest'} k groups of each window by the named aggregate`, () => {
      const def = parseDefinition({
        name: 'top_receivers',
        dataset: 'transactions',
        window,
        groupBy: ['to_address'],
        aggregates: [{ fn: 'sum', column: 'value', as: 'volume' }, { fn: 'count' }],
        topK: { k: 3, by: 'volume', order },
      });
      const agg = new Aggregation(def);
      agg.add(txBatch(rows));
      const fired = [...agg.fire(), ...agg.current()];
      const all = bruteForce({ ...def, topK: undefined }, rows);
      const starts = new Set([...all.values()].map((e) => e.windowStart));
      expect(new Set(fired.map((r) => Date.parse(r.windowStart)))).toEqual(starts);
      for (const start of starts) {
        const sign = order === 'desc' ? -1 : 1;
        const want = [...all.values()]
          .filter((e) => e.windowStart === start)
          .sort((a, b) => sign * (BigInt(a.values.volume as string) < BigInt(b.values.volume as string) ? -1 : 1))
          .slice(0, 3)
          .map((e) => [e.group.to_address, e.values.volume]);
        const got = fired.filter((r) => Date.parse(r.windowStart) === start).map((r) => [r.group.to_address, r.values.volume]);
        expect(got).toEqual(want);
      }
    });
  }
});

describe('uint256', () => {
  it('sums values above 2^64 exactly as a decimal string', () => {
    const def = parseDefinition({
      name: 'volume',
      dataset: 'transactions',
      window,
      aggregates: [{ fn: 'sum', column: 'value' }, { fn: 'avg', column: 'value' }, { fn: 'max', column: 'value' }],
    });
    const base = rows[0];
    const values = [2n ** 64n + 1n, 2n ** 200n + 12345n, 10n ** 77n, 1n, 2n ** 53n + 1n, 9_007_199_254_740_993n];
    const batch = values.map((v, i) => ({ ...base, transaction_index: i, value: v.toString() }));
    const agg = new Aggregation(def);
    agg.add(txBatch(batch));
    const [result] = agg.current();
    const sum = values.reduce((a, b) => a + b, 0n);
    expect(result.values).toEqual({
      sum_value: sum.toString(),
      avg_value: Number(sum) / values.length,
      max_value: (10n ** 77n).toString(),
    });
    expect(aggregate({ fn: 'sum', column: 'value' }, batch)).toBe(sum.toString());
  });

  it('sums int64 exactly past 2^53, returning a decimal string only then', () => {
    const def = parseDefinition({ name: 'gas', dataset: 'transactions', window, aggregates: [{ fn: 'sum', column: 'gas_used' }] });
    const base = rows[0];
    const small = new Aggregation(def);
    small.add(txBatch([{ ...base, gas_used: 2 ** 52 }, { ...base, gas_used: 2 ** 52 - 1 }]));
    expect(small.current()[0].values.sum_gas_used).toBe(2 ** 53 - 1);
    const agg = new Aggregation(def);
    agg.add(txBatch(Array.from({ length: 5 }, (_, i) => ({ ...base, transaction_index: i, gas_used: 2 ** 52 + 1 }))));
    expect(agg.current()[0].values.sum_gas_used).toBe((5n * (2n ** 52n + 1n)).toString());
  });
});

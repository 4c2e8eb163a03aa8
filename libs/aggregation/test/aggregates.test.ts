import { describe, expect, it } from 'vitest';
import { Aggregation, HLL_STANDARD_ERROR, parseDefinition, type AggregateSpec, type WindowSpec } from '../src/index.js';
import { bruteForce } from './brute.js';
import { expectMatches, run } from './check.js';
import { randomRows, txBatch, type TxRow } from './fixtures.js';

const AGGREGATES: AggregateSpec[] = [
  { fn: 'count' },
  { fn: 'count', column: 'to_address' },
  { fn: 'sum', column: 'value' },
  { fn: 'sum', column: 'gas_used' },
  { fn: 'avg', column: 'gas_price' },
  { fn: 'avg', column: 'max_fee_per_gas' },
  { fn: 'min', column: 'value' },
  { fn: 'max', column: 'value' },
  { fn: 'max', column: 'gas_used' },
  { fn: 'min', column: 'block_timestamp' },
  { fn: 'stddev', column: 'gas_used' },
  { fn: 'stddev', column: 'value', as: 'stddev_value' },
  { fn: 'distinct_count', column: 'to_address', exact: true, as: 'exact_receivers' },
  { fn: 'distinct_count', column: 'to_address', as: 'receivers' },
  { fn: 'distinct_count', column: 'gas_used', as: 'distinct_gas' },
  { fn: 'percentile', column: 'gas_used', p: 90, exact: true, as: 'exact_p90_gas' },
  { fn: 'percentile', column: 'gas_used', p: 90 },
  { fn: 'percentile', column: 'value', p: 50 },
  { fn: 'percentile', column: 'gas_price', p: 0, as: 'p0_gas_price' },
  { fn: 'percentile', column: 'gas_price', p: 100, as: 'p100_gas_price' },
];

const WINDOWS: Record<string, WindowSpec> = {
  tumbling: { kind: 'tumbling', sizeMs: 60_000 },
  sliding: { kind: 'sliding', sizeMs: 120_000, slideMs: 30_000 },
  'sliding with slide = size': { kind: 'sliding', sizeMs: 45_000, slideMs: 45_000 },
  session: { kind: 'session', gapMs: 30_000 },
};

describe('aggregates over every window kind equal a brute-force recomputation', () => {
  for (const [label, window] of Object.entries(WINDOWS)) {
    for (const groupBy of [undefined, ['from_address'], ['transaction_type', 'success']]) {
      it(`${label}, group by ${groupBy?.join(',') ?? 'nothing'}`, () => {
        const def = parseDefinition({ name: 'all_aggs', dataset: 'transactions', window, groupBy, aggregates: AGGREGATES });
        const rows = randomRows(7, 200);
        const { results, agg } = run(def, rows, 3);
        expectMatches(def, results, bruteForce(def, rows));
        expect(agg.lateRowsDropped).toBe(0);
      });
    }
  }

  it('groups by an int64 column as decimal strings', () => {
    const def = parseDefinition({
      name: 'per_block',
      dataset: 'transactions',
      window: { kind: 'tumbling', sizeMs: 60_000 },
      groupBy: ['block_number'],
      aggregates: [{ fn: 'count' }, { fn: 'sum', column: 'value' }],
    });
    const rows = randomRows(11, 30);
    const { results } = run(def, rows, 5);
    expectMatches(def, results, bruteForce(def, rows));
    expect(typeof [...results.values()][0].group.block_number).toBe('string');
  });

  it('fires each window once the watermark reaches its end, not before', () => {
    const def = parseDefinition({
      name: 'minutes',
      dataset: 'transactions',
      window: { kind: 'tumbling', sizeMs: 60_000 },
      aggregates: [{ fn: 'count' }],
    });
    const rows = randomRows(1, 30).filter((r) => r.transaction_index === 0);
    const agg = new Aggregation(def);
    const firstMinute = rows.filter((r) => r.block_timestamp < rows[0].block_timestamp + 60_000);
    agg.add(txBatch(firstMinute));
    expect(agg.fire()).toEqual([]);
    expect(agg.current().map((r) => r.rows)).toEqual([firstMinute.length]);
    agg.add(txBatch(rows.slice(firstMinute.length, firstMinute.length + 1)));
    const fired = agg.fire();
    expect(fired.map((r) => [r.windowStart, r.rows, r.revision])).toEqual([
      [new Date(rows[0].block_timestamp).toISOString(), firstMinute.length, 1],
    ]);
    expect(agg.fire()).toEqual([]);
  });
});

describe('sketches at scale', () => {
  it('HyperLogLog estimates 100,000 distinct addresses within 3 standard errors (2.4%)', async () => {
    const { HyperLogLog } = await import('../src/sketches.js');
    const def = parseDefinition({
      name: 'senders',
      dataset: 'transactions',
      window: { kind: 'tumbling', sizeMs: 3_600_000 },
      aggregates: [{ fn: 'distinct_count', column: 'from_address' }],
    });
    const base = randomRows(2, 1)[0];
    const rows: TxRow[] = Array.from({ length: 100_000 }, (_, i) => ({
      ...base,
      transaction_index: i,
      from_address: `0x${i.toString(16).padStart(40, '0')}`,
    }));
    const agg = new Aggregation(def);
    agg.add(txBatch(rows.slice(0, 50_000)));
    agg.add(txBatch(rows.slice(50_000)));
    agg.add(txBatch(rows.slice(0, 1000)));
    const [result] = agg.current();
    const estimate = result.values.distinct_count_from_address as number;
    expect(Math.abs(estimate - 100_000)).toBeLessThanOrEqual(3 * HLL_STANDARD_ERROR * 100_000);
    expect(new HyperLogLog().estimate()).toBe(0);
  });

  it('DDSketch percentiles of 50,000 spread values are within 1% relative error', async () => {
    const { DDSketch } = await import('../src/sketches.js');
    const sketch = new DDSketch();
    const other = new DDSketch();
    const values: number[] = [];
    let x = 1;
    for (let i = 0; i < 50_000; i++) {
      x = (x * 48271) % 2147483647;
      const v = i % 7 === 0 ? -(x % 1000) : x % 1_000_000_000;
      values.push(v);
      (i % 2 === 0 ? sketch : other).add(v);
    }
    sketch.merge(other);
    values.sort((a, b) => a - b);
    for (const q of [0, 0.01, 0.1, 0.25, 0.5, 0.9, 0.99, 0.999, 1]) {
      const exact = values[Math.floor(q * (values.length - 1))];
      expect(Math.abs(sketch.quantile(q)! - exact)).toBeLessThanOrEqual(0.01 * Math.abs(exact) + 1e-9);
    }
  });
});

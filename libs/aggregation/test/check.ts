import { expect } from 'vitest';
import {
  Aggregation,
  DDSKETCH_RELATIVE_ACCURACY,
  HLL_STANDARD_ERROR,
  resultName,
  type Definition,
  type WindowResult,
} from '../src/index.js';
import { latest, type Expected } from './brute.js';
import { batches, txBatch, type TxRow } from './fixtures.js';

/** Feeds rows batch by batch, firing after each, and returns the latest result of every window and group. */
export function run(def: Definition, rows: readonly TxRow[], seed: number): { results: Map<string, WindowResult>; agg: Aggregation } {
  const agg = new Aggregation(def);
  const results = new Map<string, WindowResult>();
  for (const b of batches(rows, seed)) {
    agg.add(txBatch(b));
    latest(def, agg.fire(), results);
  }
  latest(def, agg.current(), results);
  return { results, agg };
}

/**
 * Exact aggregates must match exactly. HyperLogLog: within 4 standard errors (4 × 0.81%) or 1,
 * whichever is larger (small counts sit in the linear-counting range, far better than that).
 * DDSketch: within the relative accuracy α = 1% of the exact value at the same rank. stddev:
 * Welford vs. two-pass, equal to 1e-9 relative.
 */
export function expectMatches(def: Definition, got: Map<string, WindowResult>, want: Map<string, Expected>): void {
  const nonEmpty = [...got].filter(([, r]) => r.rows > 0).map(([k]) => k);
  expect(nonEmpty.sort()).toEqual([...want.keys()].sort());
  for (const [key, e] of want) expectResultMatches(def, key, got.get(key)!, e);
}

/** One window and group's result against its brute-force value, with the tolerances of {@link expectMatches}. */
export function expectResultMatches(def: Definition, key: string, r: WindowResult, e: Expected): void {
  expect({ key, rows: r.rows, end: Date.parse(r.windowEnd), group: r.group }).toEqual({
    key,
    rows: e.rows,
    end: e.windowEnd,
    group: e.group,
  });
  for (const a of def.aggregates) {
    const name = resultName(a);
    const g = r.values[name];
    const x = e.values[name];
    const label = `${key} ${name}`;
    if (x === null || (a.fn === 'percentile' && a.exact) || !['distinct_count', 'percentile', 'stddev'].includes(a.fn)) {
      expect(g, label).toEqual(x);
    } else if (a.fn === 'distinct_count' && a.exact) {
      expect(g, label).toBe(x);
    } else if (a.fn === 'distinct_count') {
      expect(Math.abs((g as number) - (x as number)), label).toBeLessThanOrEqual(Math.max(1, 4 * HLL_STANDARD_ERROR * (x as number)));
    } else if (a.fn === 'percentile') {
      expect(Math.abs((g as number) - (x as number)), label).toBeLessThanOrEqual(DDSKETCH_RELATIVE_ACCURACY * Math.abs(x as number) + 1e-9);
    } else {
      expect(Math.abs((g as number) - (x as number)), label).toBeLessThanOrEqual(1e-9 * Math.max(1, x as number));
    }
  }
}

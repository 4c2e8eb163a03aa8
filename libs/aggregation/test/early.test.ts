import { describe, expect, it } from 'vitest';
import { Aggregation, parseDefinition, type WindowResult } from '../src/index.js';
import { bruteForce, latest } from './brute.js';
import { expectResultMatches } from './check.js';
import { batches, randomRows, T0, txBatch, type TxRow } from './fixtures.js';

const base = {
  dataset: 'transactions',
  groupBy: ['from_address'],
  earlyResultsMs: 1000,
  aggregates: [
    { fn: 'count' },
    { fn: 'sum', column: 'value' },
    { fn: 'max', column: 'gas_used' },
    { fn: 'distinct_count', column: 'to_address' },
    { fn: 'percentile', column: 'gas_price', p: 75 },
  ],
};
const definitions = [
  parseDefinition({ ...base, name: 'tumbling', window: { kind: 'tumbling', sizeMs: 120_000 } }),
  parseDefinition({ ...base, name: 'sliding', window: { kind: 'sliding', sizeMs: 90_000, slideMs: 30_000 } }),
  parseDefinition({ ...base, name: 'session', window: { kind: 'session', gapMs: 40_000 } }),
];

const row = (seconds: number, block: number, gas: number): TxRow => ({
  ...randomRows(1, 1)[0],
  block_number: block,
  block_timestamp: T0 + seconds * 1000,
  gas_used: gas,
});

describe('early results', () => {
  for (const def of definitions) {
    it(`of ${def.window.kind} windows are the brute-force values of the rows so far, and the final result is the last one plus what came after`, () => {
      const rows = randomRows(17, 120);
      const agg = new Aggregation(def);
      const seen: TxRow[] = [];
      const lastEarly = new Map<string, { result: WindowResult; rowsBefore: number }>();
      const finals = new Map<string, WindowResult>();
      let earlyCount = 0;
      for (const batch of batches(rows, 5, 25)) {
        agg.add(txBatch(batch));
        seen.push(...batch);
        for (const [key, r] of latest(def, agg.fire())) {
          expect(finals.has(key), `${key} fired twice`).toBe(false);
          finals.set(key, r);
        }
        const now = bruteForce(def, seen);
        for (const [key, r] of latest(def, agg.early())) {
          expect(r.revision).toBe(0);
          expect(finals.has(key), `early result for ${key} after it fired`).toBe(false);
          expectResultMatches(def, key, r, now.get(key)!);
          lastEarly.set(key, { result: r, rowsBefore: seen.length });
          earlyCount++;
        }
      }
      const all = bruteForce(def, rows);
      let checked = 0;
      for (const [key, final] of finals) {
        expectResultMatches(def, key, final, all.get(key)!);
        const early = lastEarly.get(key);
        if (!early) continue;
        // What came after the last early result: the rows of this window and group fed later.
        const later = all.get(key)!.rows - bruteForce(def, rows.slice(0, early.rowsBefore)).get(key)!.rows;
        expect(final.rows).toBe(early.result.rows + later);
        expect(final.values.count).toBe((early.result.values.count as number) + later);
        if (later === 0) expect(final.values).toEqual(early.result.values);
        checked++;
      }
      expect(earlyCount).toBeGreaterThan(finals.size);
      expect(checked).toBeGreaterThan(5);
    });
  }

  it('go out only for open windows whose rows changed since the previous call', () => {
    const def = parseDefinition({ name: 'quiet', dataset: 'transactions', window: { kind: 'tumbling', sizeMs: 60_000 }, aggregates: [{ fn: 'count' }] });
    const agg = new Aggregation(def);
    agg.add(txBatch([row(0, 1, 1), row(61, 2, 1)]));
    expect(agg.fire().map((r) => r.values)).toEqual([{ count: 1 }]);
    expect(agg.early().map((r) => [r.windowStart, r.values])).toEqual([[new Date(T0 + 60_000).toISOString(), { count: 1 }]]);
    expect(agg.early()).toEqual([]);
    agg.add(txBatch([row(70, 3, 1), row(125, 3, 1)]));
    expect(agg.early().map((r) => [r.windowStart, r.values, r.revision])).toEqual([
      [new Date(T0 + 120_000).toISOString(), { count: 1 }, 0],
    ]);
    expect(agg.fire().map((r) => [r.windowStart, r.values])).toEqual([[new Date(T0 + 60_000).toISOString(), { count: 2 }]]);
    // A retraction changes the open window: its early result goes out again with the rows removed.
    agg.add(txBatch([row(130, 4, 1)]));
    expect(agg.early().map((r) => r.values)).toEqual([{ count: 2 }]);
    agg.retract(3);
    expect(agg.early().map((r) => r.values)).toEqual([{ count: 1 }]);
    // After a restart every open window is reported once.
    const restored = Aggregation.restore(def, JSON.parse(JSON.stringify(agg.snapshot())));
    expect(restored.early().map((r) => r.windowStart)).toEqual([new Date(T0 + 120_000).toISOString()]);
    expect(restored.early()).toEqual([]);
  });
});

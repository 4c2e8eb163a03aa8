import { describe, expect, it } from 'vitest';
import { Aggregation, parseDefinition, type WindowResult } from '../src/index.js';
import { aggregate, bruteForce, latest, type Expected } from './brute.js';
import { expectMatches, run } from './check.js';
import { batches, prng, randomRows, txBatch, type TxRow } from './fixtures.js';

const aggregates = [
  { fn: 'count' },
  { fn: 'sum', column: 'value' },
  { fn: 'distinct_count', column: 'to_address' },
  { fn: 'stddev', column: 'gas_used' },
] as const;

describe('sliding windows kept as panes', () => {
  it('adds a row arriving after some of its windows closed only to the windows still open', () => {
    const def = parseDefinition({
      name: 'late_sliding',
      dataset: 'transactions',
      window: { kind: 'sliding', sizeMs: 90_000, slideMs: 30_000 },
      groupBy: ['from_address'],
      allowedLatenessMs: 20_000,
      aggregates: [...aggregates],
    });
    const rows = randomRows(41, 150).map((r) => ({ ...r }));
    const rnd = prng(5);
    for (const r of rows) r.block_timestamp -= Math.floor(rnd() * 5) * 25_000;
    // Row-by-row watermark: a row joins each window containing it that is within its lateness.
    const perWindow = new Map<number, TxRow[]>();
    let max = -Infinity;
    let dropped = 0;
    let partlyLate = 0;
    for (const r of rows) {
      max = Math.max(max, r.block_timestamp);
      const starts: number[] = [];
      for (let s = Math.floor(r.block_timestamp / 30_000) * 30_000; s + 90_000 > r.block_timestamp; s -= 30_000) {
        if (s + 90_000 + 20_000 > max) starts.push(s);
      }
      if (starts.length === 0) dropped++;
      else if (starts.length < 3) partlyLate++;
      for (const s of starts) perWindow.set(s, [...(perWindow.get(s) ?? []), r]);
    }
    expect(dropped).toBeGreaterThan(0);
    expect(partlyLate).toBeGreaterThan(0);
    const want = new Map<string, Expected>();
    for (const [start, windowRows] of perWindow) {
      for (const [key, e] of bruteForce(def, windowRows)) if (e.windowStart === start) want.set(key, e);
    }
    for (const seed of [1, 2]) {
      const { results, agg } = run(def, rows, seed);
      expectMatches(def, results, want);
      expect(agg.lateRowsDropped).toBe(dropped);
    }
  });

  it('restores a snapshot written without panes (each window with its own rows) and carries on', () => {
    const def = parseDefinition({
      name: 'sliding_v1',
      dataset: 'transactions',
      window: { kind: 'sliding', sizeMs: 120_000, slideMs: 30_000 },
      groupBy: ['transaction_type'],
      aggregates: [...aggregates],
    });
    const rows = randomRows(17, 120);
    const parts = batches(rows, 3, 60);
    const agg = new Aggregation(def);
    const results = new Map<string, WindowResult>();
    const half = Math.floor(parts.length / 2);
    for (const b of parts.slice(0, half)) {
      agg.add(txBatch(b));
      latest(def, agg.fire(), results);
    }
    agg.forget(rows[0].block_number + 30);
    const { panes, ...withoutPanes } = JSON.parse(JSON.stringify(agg.snapshot())) as { panes: unknown[] };
    expect(panes.length).toBeGreaterThan(0);
    const restored = Aggregation.restore(def, withoutPanes);
    expect(restored.current()).toEqual(agg.current());
    for (const b of parts.slice(half)) {
      restored.add(txBatch(b));
      latest(def, restored.fire(), results);
    }
    restored.retract(rows[rows.length - 1].block_number - 10);
    latest(def, restored.fire(), results);
    latest(def, restored.current(), results);
    const survivors = rows.filter((r) => r.block_number <= rows[rows.length - 1].block_number - 10);
    expectMatches(def, results, bruteForce(def, survivors));
    expect(aggregate({ fn: 'count' }, survivors)).toBeLessThan(rows.length);
  });
});

import { describe, expect, it } from 'vitest';
import { Aggregation, parseDefinition, type Definition, type WindowResult } from '../src/index.js';
import { expectMatches, run } from './check.js';
import { bruteForce, latest } from './brute.js';
import { batches, prng, randomRows, T0, txBatch, type TxRow } from './fixtures.js';

const base = {
  dataset: 'transactions',
  groupBy: ['from_address'],
  aggregates: [
    { fn: 'count' },
    { fn: 'sum', column: 'value' },
    { fn: 'max', column: 'gas_used' },
    { fn: 'distinct_count', column: 'to_address' },
    { fn: 'percentile', column: 'gas_price', p: 75 },
    { fn: 'stddev', column: 'gas_used' },
  ],
};
const tumbling = parseDefinition({ ...base, name: 'tumbling', window: { kind: 'tumbling', sizeMs: 60_000 } });
const sliding = parseDefinition({ ...base, name: 'sliding', window: { kind: 'sliding', sizeMs: 90_000, slideMs: 30_000 } });
const session = parseDefinition({ ...base, name: 'session', window: { kind: 'session', gapMs: 40_000 } });

const tx = (seconds: number, block: number, gas: number): TxRow => ({
  ...randomRows(1, 1)[0],
  block_number: block,
  block_timestamp: T0 + seconds * 1000,
  gas_used: gas,
  from_address: '0x00000000000000000000000000000000000000aa',
});

describe('late rows', () => {
  const def = parseDefinition({
    name: 'late',
    dataset: 'transactions',
    window: { kind: 'tumbling', sizeMs: 60_000 },
    allowedLatenessMs: 30_000,
    aggregates: [{ fn: 'count' }, { fn: 'sum', column: 'gas_used' }],
  });

  it('updates a fired window with revision 2 within the lateness and drops and counts rows after it', () => {
    const agg = new Aggregation(def);
    agg.add(txBatch([tx(0, 1, 100), tx(30, 2, 200), tx(61, 3, 300)]));
    expect(agg.fire().map((r) => [r.windowStart, r.values, r.revision])).toEqual([
      [new Date(T0).toISOString(), { count: 2, sum_gas_used: 300 }, 1],
    ]);
    agg.add(txBatch([tx(50, 4, 5)]));
    expect(agg.fire().map((r) => [r.windowStart, r.values, r.revision])).toEqual([
      [new Date(T0).toISOString(), { count: 3, sum_gas_used: 305 }, 2],
    ]);
    // Watermark 95 s: [0, 60) accepts rows until 60 + 30 = 90 s, so a row at 10 s is now too late.
    agg.add(txBatch([tx(95, 5, 1), tx(10, 6, 7), tx(59, 6, 7)]));
    expect(agg.lateRowsDropped).toBe(2);
    expect(agg.fire()).toEqual([]);
    expect(agg.current().map((r) => [r.windowStart, r.values, r.revision])).toEqual([
      [new Date(T0 + 60_000).toISOString(), { count: 2, sum_gas_used: 301 }, 0],
    ]);
  });

  it('drops exactly the rows a row-by-row watermark makes too late, however the rows are batched', () => {
    const shuffled = randomRows(21, 150).map((r) => ({ ...r }));
    const rnd = prng(4);
    for (const r of shuffled) r.block_timestamp -= Math.floor(rnd() * 4) * 20_000;
    const lateDef = { ...tumbling, name: 'late_random', allowedLatenessMs: 15_000 };
    let max = -Infinity;
    const accepted = shuffled.filter((r) => {
      max = Math.max(max, r.block_timestamp);
      return Math.floor(r.block_timestamp / 60_000) * 60_000 + 60_000 + 15_000 > max;
    });
    expect(accepted.length).toBeLessThan(shuffled.length);
    for (const seed of [1, 2]) {
      const { results, agg } = run(lateDef, shuffled, seed);
      expectMatches(lateDef, results, bruteForce(lateDef, accepted));
      expect(agg.lateRowsDropped).toBe(shuffled.length - accepted.length);
    }
  });
});

describe('retract', () => {
  for (const def of [tumbling, sliding, session]) {
    it(`re-emits exactly the affected ${def.window.kind} windows with revision + 1, equal to brute force over surviving rows`, () => {
      const rows = randomRows(5, 120);
      const agg = new Aggregation(def);
      const emitted = new Map<string, WindowResult>();
      for (const b of batches(rows, 9)) {
        agg.add(txBatch(b));
        latest(def, agg.fire(), emitted);
      }
      const forkPoint = 190;
      agg.retract(forkPoint);
      const survivors = rows.filter((r) => r.block_number <= forkPoint);
      const reemitted = agg.fire();
      const want = bruteForce(def, survivors);
      const before = bruteForce(def, rows);
      // A window is affected when it was emitted and held a row above the fork point.
      const affected = new Set(
        [...emitted.values()]
          .filter((r) => rows.some((x) => x.block_number > forkPoint && inWindow(def, r, x)))
          .map((r) => r.windowStart),
      );
      expect(affected.size).toBeGreaterThan(0);
      const windowsOf = (rs: WindowResult[]) => new Set(rs.map((r) => r.windowStart));
      if (def.window.kind !== 'session') expect(windowsOf(reemitted)).toEqual(affected);
      for (const r of reemitted) {
        const key = [...latest(def, [r]).keys()][0];
        expect(r.revision).toBe((emitted.get(key)?.revision ?? 0) + 1);
        expect(r.rows).toBe(want.get(key)?.rows ?? 0);
      }
      expectMatches(def, latest(def, agg.current(), latest(def, reemitted, new Map(emitted))), want);
      expect(reemitted.some((r) => before.get([...latest(def, [r]).keys()][0])?.rows !== r.rows)).toBe(true);
      const final = latest(def, reemitted, emitted);
      // The new fork's blocks then replace the old ones.
      const replacement = randomRows(77, 120 - (forkPoint - 100 + 1), forkPoint + 1).map((r) => ({
        ...r,
        block_timestamp: r.block_timestamp + (forkPoint - 100 + 1) * 12_000,
      }));
      for (const b of batches(replacement, 2)) {
        agg.add(txBatch(b));
        latest(def, agg.fire(), final);
      }
      latest(def, agg.current(), final);
      expectMatches(def, final, bruteForce(def, [...survivors, ...replacement]));
      expect(agg.lateRowsDropped).toBe(0);
    });
  }

  it('merges sessions joined by a late row (the absorbed one re-emitted empty) and splits them again when that row is retracted', () => {
    const def = parseDefinition({
      name: 'sessions',
      dataset: 'transactions',
      window: { kind: 'session', gapMs: 30_000 },
      allowedLatenessMs: 100_000,
      aggregates: [{ fn: 'count' }, { fn: 'sum', column: 'gas_used' }],
    });
    const at = (s: number) => new Date(T0 + s * 1000).toISOString();
    const brief = (rs: WindowResult[]) => rs.map((r) => [r.windowStart, r.windowEnd, r.rows, r.values.sum_gas_used, r.revision]);
    const agg = new Aggregation(def);
    agg.add(txBatch([tx(0, 1, 1), tx(50, 2, 2), tx(100, 3, 4)]));
    expect(brief(agg.fire())).toEqual([
      [at(0), at(30), 1, 1, 1],
      [at(50), at(80), 1, 2, 1],
    ]);
    agg.add(txBatch([tx(25, 4, 8)]));
    expect(brief(agg.fire())).toEqual([
      [at(50), at(80), 0, null, 2],
      [at(0), at(80), 3, 11, 2],
    ]);
    agg.retract(3);
    expect(brief(agg.fire())).toEqual([
      [at(0), at(30), 1, 1, 3],
      [at(50), at(80), 1, 2, 1],
    ]);
    expect(brief(agg.current())).toEqual([[at(100), at(130), 1, 4, 0]]);
  });

  it('refuses to retract finalized blocks', () => {
    const agg = new Aggregation(tumbling);
    agg.add(txBatch(randomRows(3, 20)));
    agg.forget(110);
    expect(() => agg.retract(105)).toThrow('definition "tumbling": cannot retract to block 105, blocks up to 110 are finalized');
    expect(() => agg.retract(110)).not.toThrow();
  });
});

function inWindow(def: Definition, r: WindowResult, x: TxRow): boolean {
  const start = Date.parse(r.windowStart);
  const end = Date.parse(r.windowEnd);
  const sameGroup = x.from_address === r.group.from_address;
  if (def.window.kind === 'session') return sameGroup && x.block_timestamp >= start && x.block_timestamp < end;
  return x.block_timestamp >= start && x.block_timestamp < end;
}

describe('forget', () => {
  it('merges per-block partials of finalized blocks and drops finalized windows past their lateness', () => {
    const agg = new Aggregation(sliding);
    const rows = randomRows(8, 100);
    agg.add(txBatch(rows));
    agg.fire();
    const held = agg.stats();
    expect(held.blockPartials).toBeGreaterThan(held.groups);
    agg.forget(150);
    const after = agg.stats();
    expect(after.blockPartials).toBeLessThan(held.blockPartials);
    expect(after.windows).toBeLessThan(held.windows);
    agg.forget(199);
    expect(agg.stats().blockPartials).toBe(0);
    expect(agg.stats().windows).toBe(3); // the windows still open: the watermark has not reached their end
    const { results } = run(sliding, rows, 1);
    const open = [...results.values()].filter((r) => Date.parse(r.windowEnd) > rows[rows.length - 1].block_timestamp);
    const order = (rs: WindowResult[]) => [...rs].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    expect(open.length).toBeGreaterThan(0);
    expect(order(agg.current())).toEqual(order(open));
  });
});

describe('snapshot and restore', () => {
  for (const def of [tumbling, sliding, session, { ...tumbling, name: 'lateness', allowedLatenessMs: 20_000 }]) {
    it(`${def.name}: restoring after every step gives the same results as an uninterrupted run`, () => {
      const rows = randomRows(13, 150);
      const replacement = randomRows(14, 30, 221).map((r) => ({ ...r, block_timestamp: r.block_timestamp + 121 * 12_000 }));
      type Step = (a: Aggregation) => WindowResult[];
      const steps: Step[] = [];
      for (const b of batches(rows, 6, 60)) {
        steps.push((a) => (a.add(txBatch(b)), a.fire()));
      }
      steps.splice(5, 0, (a) => (a.forget(130), []));
      steps.push((a) => (a.retract(220), a.fire()));
      steps.push((a) => a.current());
      for (const b of batches(replacement, 3)) steps.push((a) => (a.add(txBatch(b)), a.fire()));
      steps.push((a) => (a.forget(240), a.current()));

      let straight = new Aggregation(def);
      let restored = new Aggregation(def);
      for (const step of steps) {
        expect(step(restored)).toEqual(step(straight));
        restored = Aggregation.restore(def, JSON.parse(JSON.stringify(restored.snapshot())));
        expect(restored.lateRowsDropped).toBe(straight.lateRowsDropped);
      }
      straight = Aggregation.restore(def, straight.snapshot());
      expect(straight.stats()).toEqual(restored.stats());
    });
  }

  it('takes snapshots that later rows, retractions and emissions leave unchanged (they are serialized while rows keep coming)', () => {
    const exact = {
      ...base,
      aggregates: [...base.aggregates, { fn: 'percentile', column: 'gas_used', p: 50, exact: true }, { fn: 'distinct_count', column: 'to_address', exact: true, as: 'receivers' }],
    };
    for (const window of [tumbling.window, sliding.window, session.window]) {
      const def = parseDefinition({ ...exact, name: 'copies', window });
      const agg = new Aggregation(def);
      const parts = batches(randomRows(15, 120), 4, 50);
      for (const b of parts.slice(0, parts.length / 2)) {
        agg.add(txBatch(b));
        agg.fire();
      }
      const taken = agg.snapshot();
      const json = JSON.stringify(taken);
      for (const b of parts.slice(parts.length / 2)) {
        agg.add(txBatch(b));
        agg.fire();
      }
      agg.retract(150);
      agg.fire();
      agg.forget(140);
      expect(JSON.stringify(taken), window.kind).toBe(json);
    }
  });

  it('refuses a snapshot of another definition', () => {
    expect(() => Aggregation.restore(sliding, new Aggregation(tumbling).snapshot())).toThrow(
      'snapshot is not a version 1 snapshot of definition "sliding"',
    );
  });
});

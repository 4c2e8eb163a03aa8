import { transactions } from '@chainlake/schema';
import { resultName, type AggregateSpec, type Definition, type WindowResult } from '../src/index.js';
import type { TxRow } from './fixtures.js';

export interface Expected {
  windowStart: number;
  windowEnd: number;
  group: Record<string, unknown>;
  rows: number;
  values: Record<string, number | string | null>;
}

const typeOf = (column: string) => transactions.columns.find((c) => c.name === column)!.type;
const raw = (r: TxRow, column: string): unknown => (r as unknown as Record<string, unknown>)[column];

/** Recomputes a definition over rows from scratch (no filter: callers pre-filter). Keyed by `start|group`. */
export function bruteForce(def: Definition, rows: readonly TxRow[]): Map<string, Expected> {
  const groupBy = def.groupBy ?? [];
  const groupOf = (r: TxRow) =>
    Object.fromEntries(groupBy.map((c) => [c, raw(r, c) === null ? null : typeOf(c) === 'int64' ? String(raw(r, c)) : raw(r, c)]));
  const keyOf = (r: TxRow) => JSON.stringify(groupBy.map((c) => raw(r, c)));
  const buckets = new Map<string, { start: number; end: number; rows: TxRow[] }>();
  const put = (start: number, end: number, r: TxRow) => {
    const key = `${start}|${keyOf(r)}`;
    const b = buckets.get(key) ?? { start, end, rows: [] };
    b.rows.push(r);
    buckets.set(key, b);
  };
  const w = def.window;
  if (w.kind === 'session') {
    const byGroup = new Map<string, TxRow[]>();
    for (const r of rows) byGroup.set(keyOf(r), [...(byGroup.get(keyOf(r)) ?? []), r]);
    for (const list of byGroup.values()) {
      list.sort((a, b) => a.block_timestamp - b.block_timestamp);
      let session: TxRow[] = [];
      const flush = () => {
        if (session.length === 0) return;
        const start = session[0].block_timestamp;
        const end = session[session.length - 1].block_timestamp + w.gapMs;
        for (const r of session) put(start, end, r);
      };
      for (const r of list) {
        if (session.length > 0 && r.block_timestamp - session[session.length - 1].block_timestamp >= w.gapMs) {
          flush();
          session = [];
        }
        session.push(r);
      }
      flush();
    }
  } else {
    const size = w.sizeMs;
    const slide = w.kind === 'sliding' ? w.slideMs : w.sizeMs;
    for (const r of rows) {
      const t = r.block_timestamp;
      for (let start = Math.floor(t / slide) * slide; start + size > t; start -= slide) put(start, start + size, r);
    }
  }
  const out = new Map<string, Expected>();
  for (const [key, b] of buckets) {
    out.set(key, {
      windowStart: b.start,
      windowEnd: b.end,
      group: groupOf(b.rows[0]),
      rows: b.rows.length,
      values: Object.fromEntries(def.aggregates.map((a) => [resultName(a), aggregate(a, b.rows)])),
    });
  }
  return out;
}

export function aggregate(a: AggregateSpec, rows: readonly TxRow[]): number | string | null {
  if (a.fn === 'count' && !a.column) return rows.length;
  const type = typeOf(a.column!);
  const values = rows.map((r) => raw(r, a.column!)).filter((v) => v !== null && v !== undefined);
  const big = values.map((v) => BigInt(type === 'timestamp' ? (v as number) * 1000 : (v as string | number)));
  const render = (v: bigint) =>
    type === 'uint256' ? v.toString() : type === 'timestamp' ? new Date(Number(v / 1000n)).toISOString() : Number(v);
  switch (a.fn) {
    case 'count':
      return values.length;
    case 'sum':
      return values.length === 0 ? null : render(big.reduce((x, y) => x + y, 0n));
    case 'avg':
      return values.length === 0 ? null : Number(big.reduce((x, y) => x + y, 0n)) / values.length;
    case 'min':
    case 'max': {
      if (values.length === 0) return null;
      const pick = big.reduce((x, y) => ((a.fn === 'max' ? y > x : y < x) ? y : x));
      return render(pick);
    }
    case 'stddev': {
      if (values.length === 0) return null;
      const xs = big.map(Number);
      const mean = xs.reduce((x, y) => x + y, 0) / xs.length;
      return Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / xs.length);
    }
    case 'distinct_count':
      return new Set(values.map(String)).size;
    case 'percentile': {
      if (values.length === 0) return null;
      const xs = big.map(Number).sort((x, y) => x - y);
      return xs[Math.floor(((a.p ?? 0) / 100) * (xs.length - 1))];
    }
  }
}

/** Keys results like {@link bruteForce}; later revisions replace earlier ones. */
export function latest(def: Definition, results: readonly WindowResult[], into = new Map<string, WindowResult>()): Map<string, WindowResult> {
  const groupBy = def.groupBy ?? [];
  for (const r of results) {
    const key = `${Date.parse(r.windowStart)}|${JSON.stringify(groupBy.map((c) => (typeOf(c) === 'int64' && r.group[c] !== null ? Number(r.group[c]) : r.group[c])))}`;
    into.set(key, r);
  }
  return into;
}

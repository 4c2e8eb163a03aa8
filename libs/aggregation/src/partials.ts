import type { LogicalType } from '@chainlake/schema';
import type { ColumnReader } from './columns.js';
import type { AggregateSpec } from './definition.js';
import { DDSketch, HyperLogLog } from './sketches.js';

export type ResultValue = number | string | null;

/** One aggregate's mergeable partial state. */
export interface AggState {
  addRow(col: ColumnReader, i: number): void;
  merge(other: AggState): void;
  result(): ResultValue;
  toJSON(): unknown;
  /** Back to the state of no rows (for a scratch partial reused across results). */
  reset(): void;
}

const LIMIT = 2 ** 52;

/** Exact integer sum: a double accumulator kept below 2^53 (where it is exact), spilled into a BigInt. */
class ExactSum {
  small = 0;
  big = 0n;
  n = 0;

  add(v: number | bigint): void {
    this.n++;
    if (typeof v === 'number' && v <= LIMIT && v >= -LIMIT) {
      const s = this.small + v;
      if (s > LIMIT || s < -LIMIT) {
        this.big += BigInt(s);
        this.small = 0;
      } else this.small = s;
    } else this.big += BigInt(v);
  }

  mergeSum(o: ExactSum): void {
    this.n += o.n;
    this.big += o.big;
    this.add(o.small);
    this.n--;
  }

  total(): bigint | number {
    return this.big === 0n ? this.small : this.big + BigInt(this.small);
  }

  reset(): void {
    this.small = 0;
    this.big = 0n;
    this.n = 0;
  }
}

function render(v: number | bigint, type: LogicalType): ResultValue {
  if (type === 'timestamp') return new Date(Math.floor(Number(v) / 1000)).toISOString();
  if (type === 'uint256') return v.toString();
  if (typeof v === 'number') return v;
  return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v.toString();
}

class CountState implements AggState {
  n = 0;
  addRow(): void {
    this.n++;
  }
  merge(o: CountState): void {
    this.n += o.n;
  }
  result(): ResultValue {
    return this.n;
  }
  toJSON(): unknown {
    return this.n;
  }
  reset(): void {
    this.n = 0;
  }
}

/** Sum: exact; uint256 sums are decimal strings, int sums numbers while within ±2^53 (else strings). */
class SumState extends ExactSum implements AggState {
  constructor(private readonly type: LogicalType) {
    super();
  }
  addRow(col: ColumnReader, i: number): void {
    this.add(col.num(i));
  }
  merge(o: SumState): void {
    this.mergeSum(o);
  }
  result(): ResultValue {
    return this.n === 0 ? null : render(this.total(), this.type);
  }
  toJSON(): unknown {
    return [this.n, this.total().toString()];
  }
}

/** Average: exact sum and count, divided in double precision at the end. */
class AvgState extends ExactSum implements AggState {
  addRow(col: ColumnReader, i: number): void {
    this.add(col.num(i));
  }
  merge(o: AvgState): void {
    this.mergeSum(o);
  }
  result(): ResultValue {
    return this.n === 0 ? null : Number(this.total()) / this.n;
  }
  toJSON(): unknown {
    return [this.n, this.total().toString()];
  }
}

class ExtremeState implements AggState {
  v: number | bigint | null = null;
  constructor(
    private readonly type: LogicalType,
    private readonly max: boolean,
  ) {}
  addRow(col: ColumnReader, i: number): void {
    this.offer(col.num(i));
  }
  offer(x: number | bigint): void {
    const v = this.v;
    if (v === null || (this.max ? x > v : x < v)) this.v = x;
  }
  merge(o: ExtremeState): void {
    if (o.v !== null) this.offer(o.v);
  }
  result(): ResultValue {
    return this.v === null ? null : render(this.v, this.type);
  }
  toJSON(): unknown {
    return this.v === null ? null : this.v.toString();
  }
  reset(): void {
    this.v = null;
  }
}

/**
 * Population standard deviation by Welford's online update, partials combined with Chan et al.'s
 * parallel formula: no catastrophic cancellation as with Σx² − (Σx)²/n. Values enter as doubles.
 */
class StddevState implements AggState {
  n = 0;
  mean = 0;
  m2 = 0;
  addRow(col: ColumnReader, i: number): void {
    const x = col.float(i);
    this.n++;
    const d = x - this.mean;
    this.mean += d / this.n;
    this.m2 += d * (x - this.mean);
  }
  merge(o: StddevState): void {
    if (o.n === 0) return;
    const n = this.n + o.n;
    const d = o.mean - this.mean;
    this.mean += (d * o.n) / n;
    this.m2 += o.m2 + (d * d * this.n * o.n) / n;
    this.n = n;
  }
  result(): ResultValue {
    return this.n === 0 ? null : Math.sqrt(this.m2 / this.n);
  }
  toJSON(): unknown {
    return [this.n, this.mean, this.m2];
  }
  reset(): void {
    this.n = 0;
    this.mean = 0;
    this.m2 = 0;
  }
}

class HllState implements AggState {
  constructor(public hll = new HyperLogLog()) {}
  addRow(col: ColumnReader, i: number): void {
    this.hll.add(col.hash(i));
  }
  merge(o: HllState): void {
    this.hll.merge(o.hll);
  }
  result(): ResultValue {
    return this.hll.estimate();
  }
  toJSON(): unknown {
    return this.hll.toJSON();
  }
  reset(): void {
    this.hll = new HyperLogLog();
  }
}

class ExactDistinctState implements AggState {
  values = new Set<string>();
  addRow(col: ColumnReader, i: number): void {
    this.values.add(col.key(i));
  }
  merge(o: ExactDistinctState): void {
    for (const v of o.values) this.values.add(v);
  }
  result(): ResultValue {
    return this.values.size;
  }
  toJSON(): unknown {
    return [...this.values];
  }
  reset(): void {
    this.values.clear();
  }
}

class SketchPercentileState implements AggState {
  constructor(
    private readonly q: number,
    public sketch = new DDSketch(),
  ) {}
  addRow(col: ColumnReader, i: number): void {
    this.sketch.add(col.float(i));
  }
  merge(o: SketchPercentileState): void {
    this.sketch.merge(o.sketch);
  }
  result(): ResultValue {
    return this.sketch.quantile(this.q);
  }
  toJSON(): unknown {
    return this.sketch.toJSON();
  }
  reset(): void {
    this.sketch = new DDSketch();
  }
}

/** Exact percentile: the value at rank ⌊q·(n−1)⌋ of all values kept (as doubles). */
class ExactPercentileState implements AggState {
  values: number[] = [];
  constructor(private readonly q: number) {}
  addRow(col: ColumnReader, i: number): void {
    this.values.push(col.float(i));
  }
  merge(o: ExactPercentileState): void {
    for (const v of o.values) this.values.push(v);
  }
  result(): ResultValue {
    if (this.values.length === 0) return null;
    const sorted = Float64Array.from(this.values).sort();
    return sorted[Math.floor(this.q * (sorted.length - 1))];
  }
  toJSON(): unknown {
    return this.values.slice();
  }
  reset(): void {
    this.values.length = 0;
  }
}

/** Creates, and restores from JSON, the partial state of one aggregate. */
export interface AggKind {
  create(): AggState;
  restore(json: unknown): AggState;
}

export function aggKind(spec: AggregateSpec, type: LogicalType | null): AggKind {
  const t = type ?? 'int64';
  const q = (spec.p ?? 0) / 100;
  const bigOrNum = (s: string): number | bigint => {
    const b = BigInt(s);
    return b <= BigInt(Number.MAX_SAFE_INTEGER) && b >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(b) : b;
  };
  const sumLike = <S extends ExactSum>(make: () => S) => ({
    create: make,
    restore: (json: unknown) => {
      const [n, total] = json as [number, string];
      const s = make();
      s.add(bigOrNum(total));
      s.n = n;
      return s as unknown as AggState;
    },
  });
  switch (spec.fn) {
    case 'count':
      return {
        create: () => new CountState(),
        restore: (json) => Object.assign(new CountState(), { n: json as number }),
      };
    case 'sum':
      return sumLike(() => new SumState(t));
    case 'avg':
      return sumLike(() => new AvgState());
    case 'min':
    case 'max':
      return {
        create: () => new ExtremeState(t, spec.fn === 'max'),
        restore: (json) => {
          const s = new ExtremeState(t, spec.fn === 'max');
          if (json !== null) s.v = bigOrNum(json as string);
          return s;
        },
      };
    case 'stddev':
      return {
        create: () => new StddevState(),
        restore: (json) => {
          const [n, mean, m2] = json as number[];
          return Object.assign(new StddevState(), { n, mean, m2 });
        },
      };
    case 'distinct_count':
      return spec.exact
        ? {
            create: () => new ExactDistinctState(),
            restore: (json) => Object.assign(new ExactDistinctState(), { values: new Set(json as string[]) }),
          }
        : { create: () => new HllState(), restore: (json) => new HllState(HyperLogLog.fromJSON(json)) };
    case 'percentile':
      return spec.exact
        ? {
            create: () => new ExactPercentileState(q),
            restore: (json) => Object.assign(new ExactPercentileState(q), { values: [...(json as number[])] }),
          }
        : {
            create: () => new SketchPercentileState(q),
            restore: (json) => new SketchPercentileState(q, DDSketch.fromJSON(json)),
          };
  }
}

/** The partial state of every aggregate of a definition over some set of rows. */
export class Partial {
  rows = 0;
  /** Smallest and largest event time (ms) of the rows, for rebuilding sessions after a retraction. */
  minTime = Infinity;
  maxTime = -Infinity;
  constructor(readonly states: AggState[]) {}

  static create(kinds: readonly AggKind[]): Partial {
    return new Partial(kinds.map((k) => k.create()));
  }

  reset(): void {
    this.rows = 0;
    this.minTime = Infinity;
    this.maxTime = -Infinity;
    for (const s of this.states) s.reset();
  }

  merge(o: Partial): void {
    this.rows += o.rows;
    if (o.minTime < this.minTime) this.minTime = o.minTime;
    if (o.maxTime > this.maxTime) this.maxTime = o.maxTime;
    for (let a = 0; a < this.states.length; a++) this.states[a].merge(o.states[a]);
  }

  toJSON(): unknown {
    return { r: this.rows, t: this.rows === 0 ? null : [this.minTime, this.maxTime], s: this.states.map((s) => s.toJSON()) };
  }

  static restore(kinds: readonly AggKind[], json: unknown): Partial {
    const j = json as { r: number; t: [number, number] | null; s: unknown[] };
    const p = new Partial(kinds.map((k, a) => k.restore(j.s[a])));
    p.rows = j.r;
    if (j.t) [p.minTime, p.maxTime] = j.t;
    return p;
  }
}

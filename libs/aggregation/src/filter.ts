import type { RecordBatch } from 'apache-arrow';
import type { DatasetDef } from '@chainlake/schema';
import { ColumnReader, prepareLiteral } from './columns.js';
import type { Filter } from './definition.js';

/** Writes 1 into `out[i]` for each row the filter keeps; null never matches (SQL semantics). */
export type CompiledFilter = (batch: RecordBatch, out: Uint8Array) => void;

export function compileFilter(filter: Filter, ds: DatasetDef): CompiledFilter {
  if ('and' in filter || 'or' in filter) {
    const isAnd = 'and' in filter;
    const parts = (isAnd ? filter.and : filter.or).map((f) => compileFilter(f, ds));
    return (batch, out) => {
      const scratch = new Uint8Array(out.length);
      parts[0](batch, out);
      for (let p = 1; p < parts.length; p++) {
        scratch.fill(0);
        parts[p](batch, scratch);
        if (isAnd) for (let i = 0; i < out.length; i++) out[i] &= scratch[i];
        else for (let i = 0; i < out.length; i++) out[i] |= scratch[i];
      }
    };
  }
  const type = ds.columns.find((c) => c.name === filter.column)!.type;
  const name = filter.column;
  const lit = (v: string | number) => prepareLiteral(type, v);
  let test: (c: ColumnReader, i: number) => boolean;
  switch (filter.op) {
    case 'eq': {
      const v = lit(filter.value);
      test = (c, i) => c.compare(i, v) === 0;
      break;
    }
    case 'ne': {
      const v = lit(filter.value);
      test = (c, i) => c.compare(i, v) !== 0;
      break;
    }
    case 'gt': {
      const v = lit(filter.value);
      test = (c, i) => c.compare(i, v) > 0;
      break;
    }
    case 'gte': {
      const v = lit(filter.value);
      test = (c, i) => c.compare(i, v) >= 0;
      break;
    }
    case 'lt': {
      const v = lit(filter.value);
      test = (c, i) => c.compare(i, v) < 0;
      break;
    }
    case 'lte': {
      const v = lit(filter.value);
      test = (c, i) => c.compare(i, v) <= 0;
      break;
    }
    case 'between': {
      const low = lit(filter.low);
      const high = lit(filter.high);
      test = (c, i) => c.compare(i, low) >= 0 && c.compare(i, high) <= 0;
      break;
    }
    case 'in': {
      if (type === 'hex' || type === 'string' || type === 'uint256') {
        const set = new Set(filter.values.map((v) => (type === 'uint256' ? BigInt(v).toString() : String(lit(v)))));
        test = (c, i) => set.has(c.key(i));
      } else {
        const values = filter.values.map(lit);
        test = (c, i) => values.some((v) => c.compare(i, v) === 0);
      }
      break;
    }
  }
  return (batch, out) => {
    const col = ColumnReader.of(batch, name, type);
    const nulls = col.hasNulls;
    for (let i = 0; i < out.length; i++) out[i] = (!nulls || !col.isNull(i)) && test(col, i) ? 1 : 0;
  };
}

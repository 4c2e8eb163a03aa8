import { describe, expect, it } from 'vitest';
import { DefinitionError, parseDefinition } from '../src/index.js';

const valid = {
  name: 'fees',
  dataset: 'transactions',
  window: { kind: 'tumbling', sizeMs: 60_000 },
  filter: { and: [{ column: 'success', op: 'eq', value: 'true' }, { column: 'value', op: 'gt', value: '0' }] },
  groupBy: ['to_address'],
  aggregates: [
    { fn: 'count' },
    { fn: 'sum', column: 'gas_price', as: 'fees' },
    { fn: 'percentile', column: 'gas_used', p: 50 },
  ],
  topK: { k: 10, by: 'fees' },
};

function refuse(patch: Record<string, unknown>): string {
  try {
    parseDefinition({ ...valid, ...patch });
  } catch (e) {
    expect(e).toBeInstanceOf(DefinitionError);
    return (e as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(patch)}`);
}

describe('parseDefinition', () => {
  it('accepts a valid definition and keeps it as given', () => {
    expect(parseDefinition(valid)).toEqual(valid);
  });

  it('accepts every window kind, eventTime and lateness', () => {
    for (const window of [
      { kind: 'sliding', sizeMs: 60_000, slideMs: 60_000 },
      { kind: 'session', gapMs: 1 },
    ]) {
      expect(parseDefinition({ ...valid, window, eventTime: 'block_timestamp', allowedLatenessMs: 0, earlyResultsMs: 100 }).window).toEqual(window);
    }
  });

  const cases: [string, Record<string, unknown>, string][] = [
    ['a name that is no subject token', { name: 'Fees.x' }, 'definition "Fees.x": name must match'],
    ['a missing field', { aggregates: undefined }, 'definition "fees": aggregates:'],
    ['an unknown field', { extra: 1 }, 'definition "fees": input: Unrecognized key: "extra"'],
    ['an unknown dataset', { dataset: 'receipts' }, 'definition "fees": dataset is unknown: "receipts"'],
    ['an unknown group column', { groupBy: ['to_address', 'sender'] }, 'definition "fees": groupBy[1] names no column of transactions: "sender"'],
    ['an eventTime that is not a timestamp', { eventTime: 'block_number' }, 'eventTime must be a timestamp column'],
    ['an unknown aggregate column', { aggregates: [{ fn: 'sum', column: 'fee' }] }, 'aggregates[0].column names no column of transactions: "fee"'],
    ['a sum without column', { aggregates: [{ fn: 'sum' }] }, 'aggregates[0].column is required for sum'],
    ['a sum over hex', { aggregates: [{ fn: 'sum', column: 'from_address' }] }, 'aggregates[0].column must be numeric (int64, int32, uint256) for sum, got "from_address" of type hex'],
    ['an avg over a timestamp', { aggregates: [{ fn: 'avg', column: 'block_timestamp' }] }, 'aggregates[0].column must be numeric'],
    ['a stddev over bool', { aggregates: [{ fn: 'stddev', column: 'success' }] }, 'aggregates[0].column must be numeric'],
    ['a percentile over hex', { aggregates: [{ fn: 'percentile', column: 'input', p: 5 }] }, 'aggregates[0].column must be numeric'],
    ['a max over bool', { aggregates: [{ fn: 'max', column: 'success' }] }, 'aggregates[0].column must be numeric (int64, int32, uint256, timestamp) for max'],
    ['an unknown function', { aggregates: [{ fn: 'median', column: 'gas_used' }] }, 'aggregates[0].fn'],
    ['a percentile above 100', { aggregates: [{ fn: 'count' }, { fn: 'percentile', column: 'gas_used', p: 120 }] }, 'definition "fees": aggregates[1].p must be between 0 and 100, got 120'],
    ['a percentile below 0', { aggregates: [{ fn: 'percentile', column: 'gas_used', p: -1 }] }, 'aggregates[0].p must be between 0 and 100, got -1'],
    ['a percentile without p', { aggregates: [{ fn: 'percentile', column: 'gas_used' }] }, 'aggregates[0].p is required'],
    ['p on another function', { aggregates: [{ fn: 'sum', column: 'gas_used', p: 3 }] }, 'aggregates[0].p is only valid for percentile'],
    ['exact on another function', { aggregates: [{ fn: 'sum', column: 'gas_used', exact: true }] }, 'aggregates[0].exact is only valid'],
    ['duplicate result names', { aggregates: [{ fn: 'count' }, { fn: 'sum', column: 'gas_used', as: 'count' }] }, 'aggregates[1].as duplicates the result name "count"'],
    ['duplicate default names', { aggregates: [{ fn: 'sum', column: 'gas_used' }, { fn: 'sum', column: 'gas_used' }] }, 'aggregates[1].as duplicates the result name "sum_gas_used"'],
    ['a result name that is no token', { aggregates: [{ fn: 'count', as: 'Total' }] }, 'aggregates[0].as must match'],
    ['no aggregates', { aggregates: [] }, 'aggregates:'],
    ['a zero window size', { window: { kind: 'tumbling', sizeMs: 0 } }, 'definition "fees": window.sizeMs must be a positive number, got 0'],
    ['a negative slide', { window: { kind: 'sliding', sizeMs: 10, slideMs: -5 } }, 'window.slideMs must be a positive number, got -5'],
    ['a slide above the size', { window: { kind: 'sliding', sizeMs: 10, slideMs: 20 } }, 'window.slideMs must not exceed window.sizeMs (10), got 20'],
    ['a zero session gap', { window: { kind: 'session', gapMs: 0 } }, 'window.gapMs must be a positive number, got 0'],
    ['an unknown window kind', { window: { kind: 'hopping', sizeMs: 10 } }, 'window'],
    ['a negative lateness', { allowedLatenessMs: -1 }, 'allowedLatenessMs must be a non-negative number, got -1'],
    ['early results too often', { earlyResultsMs: 50 }, 'definition "fees": earlyResultsMs must be a whole number of milliseconds ≥ 100, got 50'],
    ['early results at a fractional interval', { earlyResultsMs: 1000.5 }, 'earlyResultsMs must be a whole number of milliseconds ≥ 100, got 1000.5'],
    ['topK naming no aggregate', { topK: { k: 3, by: 'fee' } }, 'definition "fees": topK.by names no aggregate: "fee" (have: count, fees, p50_gas_used)'],
    ['topK with k = 0', { topK: { k: 0, by: 'fees' } }, 'definition "fees": topK.k must be an integer ≥ 1, got 0'],
    ['a filter on an unknown column', { filter: { or: [{ column: 'value', op: 'gt', value: 1 }, { column: 'fee', op: 'eq', value: 1 }] } }, 'filter.or[1].column names no column of transactions: "fee"'],
    ['a filter with a bad operator', { filter: { column: 'value', op: 'like', value: '1' } }, 'definition "fees": filter: matches no filter form'],
    ['a nested filter of the wrong shape', { filter: { and: [{ column: 'value', op: 'in', value: 1 }] } }, 'definition "fees": filter.and[0]: matches no filter form'],
    ['a non-integer literal on uint256', { filter: { column: 'value', op: 'gt', value: '1e18' } }, 'filter.value must be a non-negative integer'],
    ['a bad literal in a list', { filter: { column: 'gas_used', op: 'in', values: [1, 'x'] } }, 'filter.values[1] must be an integer for int64 column "gas_used"'],
    ['a bad bound', { filter: { column: 'block_timestamp', op: 'between', low: 'yesterday', high: 5 } }, 'filter.low must be epoch milliseconds or an ISO date'],
    ['an ordering on bool', { filter: { column: 'success', op: 'gt', value: 'true' } }, 'filter.op "gt" cannot compare bool column "success"'],
    ['a number for a hex column', { filter: { column: 'from_address', op: 'eq', value: 5 } }, 'filter.value must be a string for hex column "from_address"'],
  ];
  for (const [label, patch, message] of cases) {
    it(`refuses ${label}`, () => {
      expect(refuse(patch)).toContain(message);
    });
  }

  it('refuses input that is not an object', () => {
    expect(() => parseDefinition('fees')).toThrow(DefinitionError);
    expect(() => parseDefinition(null)).toThrow(/^definition: input:/);
  });
});

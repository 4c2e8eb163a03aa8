import { describe, expect, it } from 'vitest';
import { Field, Int64, Schema, Float64 } from 'apache-arrow';
import { arrowSchema, transactions } from '@chainlake/schema';
import { parseWhere, planScan, predicateColumns, ScanRequestError, type Predicate } from '../src/index.js';

const schema = arrowSchema(transactions);

function refusal(where: unknown): ScanRequestError {
  try {
    parseWhere(where, schema);
  } catch (error) {
    expect(error).toBeInstanceOf(ScanRequestError);
    return error as ScanRequestError;
  }
  throw new Error(`expected ${JSON.stringify(where)} to be refused`);
}

describe('parseWhere', () => {
  it('parses each operator into typed literals, and-ing several operators on one column', () => {
    expect(parseWhere({ block_number: { gte: 100, lt: '200' } }, schema)).toEqual({
      op: 'and',
      children: [
        { op: 'gte', column: 'block_number', kind: 'int64', value: 100n },
        { op: 'lt', column: 'block_number', kind: 'int64', value: 200n },
      ],
    });
    expect(parseWhere({ transaction_index: { in: [1, 2, 2, 3] } }, schema)).toEqual({
      op: 'in',
      column: 'transaction_index',
      kind: 'int32',
      values: [1, 2, 3],
    });
    expect(parseWhere({ value: { between: ['10', 99] } }, schema)).toEqual({
      op: 'between',
      column: 'value',
      kind: 'uint256',
      low: 10n,
      high: 99n,
    });
    expect(parseWhere({ from_address: { eq: '0xABcd' } }, schema)).toMatchObject({ kind: 'hex', value: '0xabcd' });
    expect(parseWhere({ success: { ne: false } }, schema)).toMatchObject({ kind: 'bool', value: false });
  });

  it('nests and/or, and treats an absent or empty where as no filter', () => {
    const predicate = parseWhere(
      { or: [{ block_number: { eq: 1 } }, { and: [{ success: { eq: true } }, { gas_used: { gt: 21000 } }] }], chain_id: { eq: 1 } },
      schema,
    ) as Predicate;
    expect(predicate).toMatchObject({ op: 'and', children: [{ op: 'or' }, { op: 'eq', column: 'chain_id' }] });
    expect(predicateColumns(predicate)).toEqual(['block_number', 'success', 'gas_used', 'chain_id']);
    expect(parseWhere(undefined, schema)).toBeUndefined();
    expect(parseWhere({}, schema)).toBeUndefined();
  });

  it('reads timestamps as ISO 8601 (µs precision, UTC unless a zone is given) or as microseconds', () => {
    const at = (value: unknown) => (parseWhere({ block_timestamp: { gte: value } }, schema) as { value: bigint }).value;
    expect(at('2024-01-01T00:00:00Z')).toBe(1_704_067_200_000_000n);
    expect(at('2024-01-01')).toBe(1_704_067_200_000_000n);
    expect(at('2024-01-01T00:00:00.000001')).toBe(1_704_067_200_000_001n);
    expect(at('2024-01-01T02:00:00.5+02:00')).toBe(1_704_067_200_500_000n);
    expect(at(1_704_067_200_000_000)).toBe(1_704_067_200_000_000n);
    expect(at('1704067200000000')).toBe(1_704_067_200_000_000n);
  });

  it('refuses an unknown column, naming it and the path', () => {
    const error = refusal({ or: [{ block_number: { eq: 1 } }, { blok: { eq: 2 } }] });
    expect(error.problem).toBe('column');
    expect(error.message).toContain('where.or[1].blok: unknown column "blok"');
  });

  it.each([
    [{ block_number: { eq: 'abc' } }, 'where.block_number.eq: expected an integer, got "abc"'],
    [{ block_number: { eq: 1.5 } }, 'expected an integer, got 1.5'],
    [{ block_number: { eq: 2 ** 60 } }, 'lost precision in JSON; write it as a string'],
    [{ block_number: { eq: '9223372036854775808' } }, 'outside the 64-bit integer range'],
    [{ transaction_index: { eq: 2 ** 31 } }, 'outside the 32-bit integer range'],
    [{ value: { gt: -1 } }, 'is negative'],
    [{ value: { gt: '1e18' } }, 'expected a non-negative integer'],
    [{ success: { eq: 'true' } }, 'expected true or false, got "true"'],
    [{ from_address: { eq: 'abc' } }, 'expected a 0x-prefixed hex string, got "abc"'],
    [{ block_timestamp: { gt: '2024-02-30' } }, 'expected an ISO 8601 timestamp'],
    [{ block_timestamp: { gt: '2024-01-01T00:00:00.0000001Z' } }, 'at most 6 fractional digits'],
    [{ block_number: { eq: null } }, 'null never matches'],
    [{ block_number: { in: [] } }, 'where.block_number.in: the list is empty'],
    [{ block_number: { in: 5 } }, 'expected an array of values'],
    [{ block_number: { between: [10, 5] } }, 'where.block_number.between: low 10 is above high 5'],
    [{ value: { between: ['100', '99'] } }, 'low "100" is above high "99"'],
    [{ block_number: { between: [1] } }, 'expected [low, high]'],
    [{ block_number: { like: 5 } }, 'unknown operator "like"'],
    [{ block_number: {} }, 'no operator given'],
    [{ block_number: 5 }, 'expected an object of operators'],
    [{ or: [] }, 'where.or: expected a non-empty array'],
    [{ and: {} }, 'where.and: expected a non-empty array'],
    [[{ block_number: { eq: 1 } }], 'where: expected an object'],
  ])('refuses %j: %s', (where, message) => {
    const error = refusal(where);
    expect(error.problem).toBe('filter');
    expect(error.message).toContain(message);
  });

  it('refuses a filter on a column whose type it cannot compare', () => {
    const floats = new Schema([new Field('x', new Float64()), new Field('n', new Int64())]);
    expect(() => parseWhere({ x: { gt: 1 } }, floats)).toThrow('column "x" of type Float64 cannot be filtered on');
  });
});

describe('planScan', () => {
  it('projects in the requested order, keeps field metadata and reads the filter columns too', () => {
    const plan = planScan({ schema, columns: ['value', 'block_number'], where: { success: { eq: true } }, limit: 10 });
    expect(plan.schema.fields.map((f) => f.name)).toEqual(['value', 'block_number']);
    expect(plan.schema.fields[0].metadata.get('chainlake.logical_type')).toBe('uint256');
    expect(plan.readColumns).toEqual(['value', 'block_number', 'success']);
    expect(plan.limit).toBe(10);
  });

  it.each([
    [{ columns: ['block_number', 'nope'] }, 'column', 'unknown column "nope"'],
    [{ columns: 'block_number' }, 'column', 'columns must be an array of column names'],
    [{ columns: [] }, 'column', 'columns is empty'],
    [{ columns: ['value', 'value'] }, 'column', 'column "value" is requested twice'],
    [{ limit: -1 }, 'limit', 'limit must be a non-negative integer, got -1'],
    [{ limit: '5' }, 'limit', 'limit must be a non-negative integer, got "5"'],
  ])('refuses %j', (request, problem, message) => {
    let error: unknown;
    try {
      planScan({ schema, ...request });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ScanRequestError);
    expect((error as ScanRequestError).problem).toBe(problem);
    expect((error as ScanRequestError).message).toContain(message);
  });
});

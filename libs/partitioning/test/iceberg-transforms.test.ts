import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  applyTransform,
  bucketHash,
  formatTransform,
  murmur3Hash32,
  parseTransform,
  partitionPath,
  transformResultType,
  truncateCodePoints,
} from '../src/index.js';

const micros = (iso: string) => BigInt(Date.parse(iso)) * 1000n;

describe('bucket hashing (Iceberg spec Appendix B test vectors)', () => {
  it.each([
    ['int', 34, 2017239379],
    ['long', 34n, 2017239379],
    ['decimal(4,2)', 1420n, -500754589],
    ['date', 17486, -653330422],
    ['time', 81_068_000_000n, -662762989],
    ['timestamp', micros('2017-11-16T22:31:08Z'), -2047944441],
    ['timestamp', micros('2017-11-16T22:31:08Z') + 1n, -1207196810],
    ['timestamptz', micros('2017-11-16T22:31:08Z'), -2047944441],
    ['timestamptz_ns', micros('2017-11-16T22:31:08Z') * 1000n + 1001n, -1207196810],
    ['string', 'iceberg', 1210000089],
    ['uuid', 'f79c3e09-677c-4bbd-a479-3f349cb785e7', 1488055340],
    ['fixed[4]', Uint8Array.of(0, 1, 2, 3), -188683207],
    ['binary', Uint8Array.of(0, 1, 2, 3), -188683207],
  ] as const)('%s %s → %d', (type, value, expected) => {
    expect(bucketHash(type, value)).toBe(expected);
  });

  it('ints and longs hash alike, and bucket discards the sign bit', () => {
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 1000 }), (v, n) => {
        expect(bucketHash('int', v)).toBe(bucketHash('long', BigInt(v)));
        const bucket = applyTransform({ kind: 'bucket', buckets: n }, 'int', v) as number;
        expect(bucket).toBe((bucketHash('int', v) & 0x7fffffff) % n);
        expect(bucket >= 0 && bucket < n).toBe(true);
      }),
    );
    expect(applyTransform(parseTransform('bucket[16]'), 'string', 'iceberg')).toBe(1210000089 % 16);
  });

  it('hashes every tail length', () => {
    // murmur3_x86_32("hello", 0) and ("hello, world", 0), known values of the reference implementation.
    expect(murmur3Hash32(new TextEncoder().encode('hello')) >>> 0).toBe(0x248bfa47);
    expect(murmur3Hash32(new TextEncoder().encode('hello, world')) >>> 0).toBe(0x149bbb7f);
    expect(murmur3Hash32(new Uint8Array(0))).toBe(0);
  });
});

describe('transforms', () => {
  it('parses and formats', () => {
    for (const text of ['identity', 'bucket[16]', 'truncate[10000]', 'year', 'month', 'day', 'hour', 'void']) {
      expect(formatTransform(parseTransform(text))).toBe(text);
    }
    for (const bad of ['bucket[0]', 'bucket[]', 'truncate[-1]', 'days', 'bucket[99999999999]']) {
      expect(() => parseTransform(bad)).toThrow(/invalid transform/);
    }
  });

  it('names result types and refuses wrong sources', () => {
    expect(transformResultType(parseTransform('day'), 'timestamptz')).toBe('date');
    expect(transformResultType(parseTransform('hour'), 'timestamptz')).toBe('int');
    expect(transformResultType(parseTransform('bucket[4]'), 'string')).toBe('int');
    expect(transformResultType(parseTransform('truncate[4]'), 'long')).toBe('long');
    expect(() => transformResultType(parseTransform('hour'), 'date')).toThrow(/cannot apply to type date/);
    expect(() => transformResultType(parseTransform('truncate[4]'), 'boolean')).toThrow(/cannot apply/);
    expect(() => transformResultType(parseTransform('bucket[4]'), 'double')).toThrow(/cannot apply/);
  });

  it('truncates integers downwards, strings to code points', () => {
    const t = parseTransform('truncate[10]');
    expect(applyTransform(t, 'int', 1)).toBe(0);
    expect(applyTransform(t, 'int', -1)).toBe(-10);
    expect(applyTransform(t, 'long', -10n)).toBe(-10n);
    expect(applyTransform(parseTransform('truncate[10000]'), 'long', 19_999_999)).toBe(19_990_000);
    expect(applyTransform(parseTransform('truncate[3]'), 'string', 'iceberg')).toBe('ice');
    expect(applyTransform(parseTransform('truncate[2]'), 'string', 'a😀b')).toBe('a😀');
    expect(applyTransform(parseTransform('truncate[3]'), 'binary', Uint8Array.of(1, 2, 3, 4, 5))).toEqual(Uint8Array.of(1, 2, 3));
    expect(applyTransform(parseTransform('truncate[50]'), 'decimal(5,2)', 1065n)).toBe(1050n);
    expect(truncateCodePoints('ab', 5)).toBe('ab');
    expect(applyTransform(t, 'long', null)).toBeNull();
  });

  it('extracts years, months, days and hours from µs timestamps, flooring before the epoch', () => {
    const ts = micros('2017-11-16T22:31:08Z');
    expect(applyTransform(parseTransform('year'), 'timestamptz', ts)).toBe(47);
    expect(applyTransform(parseTransform('month'), 'timestamptz', ts)).toBe(47 * 12 + 10);
    expect(applyTransform(parseTransform('day'), 'timestamptz', ts)).toBe(17486);
    expect(applyTransform(parseTransform('hour'), 'timestamptz', Number(ts))).toBe(17486 * 24 + 22);
    expect(applyTransform(parseTransform('day'), 'date', 17486)).toBe(17486);
    expect(applyTransform(parseTransform('day'), 'timestamp', -1n)).toBe(-1);
    expect(applyTransform(parseTransform('hour'), 'timestamp', -1)).toBe(-1);
    expect(applyTransform(parseTransform('year'), 'timestamp', -1)).toBe(-1);
    expect(applyTransform(parseTransform('void'), 'long', 5)).toBeNull();
  });

  it('names partition directories Hive-style', () => {
    const spec = {
      fields: [
        { name: 'block_number_trunc', transform: 'truncate[10000]', 'source-id': 1 },
        { name: 'day', transform: 'day', 'source-id': 2 },
        { name: 'month', transform: 'month', 'source-id': 2 },
        { name: 'hour', transform: 'hour', 'source-id': 2 },
        { name: 'ts', transform: 'identity', 'source-id': 2 },
        { name: 'who', transform: 'identity', 'source-id': 3 },
        { name: 'gone', transform: 'void', 'source-id': 3 },
      ],
    };
    const path = partitionPath(
      spec,
      { block_number_trunc: 20000, day: 17486, month: 574, hour: 17486 * 24 + 22, ts: 1510871468000001n, who: 'a b/c', gone: null },
      new Map([[2, 'timestamptz'], [3, 'string']]),
    );
    expect(path).toBe(
      'block_number_trunc=20000/day=2017-11-16/month=2017-11/hour=2017-11-16-22/ts=2017-11-16T22%3A31%3A08.000001Z/who=a%20b%2Fc/gone=null',
    );
  });
});

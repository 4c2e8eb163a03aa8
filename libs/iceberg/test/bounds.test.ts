import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { compareValues, decodeBound, encodeBound, type BoundValue } from '../src/index.js';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

describe('Appendix D single-value serialization', () => {
  it.each([
    ['boolean', true, '01'],
    ['boolean', false, '00'],
    ['int', 1, '01000000'],
    ['int', -2, 'feffffff'],
    ['date', 17486, '4e440000'],
    ['long', 34n, '2200000000000000'],
    ['long', -1n, 'ffffffffffffffff'],
    ['timestamptz', 1_510_871_468_000_001n, '01c3262d215e0500'],
    ['time', 81_068_000_000n, '008307e012000000'],
    ['float', 1, '0000803f'],
    ['double', -2.5, '00000000000004c0'],
    ['string', 'iceberg', '69636562657267'],
    ['string', 'é', 'c3a9'],
    ['uuid', 'f79c3e09-677c-4bbd-a479-3f349cb785e7', 'f79c3e09677c4bbda4793f349cb785e7'],
    ['binary', Uint8Array.of(0, 1, 2, 3), '00010203'],
    ['fixed[4]', Uint8Array.of(0, 1, 2, 3), '00010203'],
    ['decimal(4,2)', 1420n, '058c'],
    ['decimal(9,2)', -1n, 'ff'],
    ['decimal(9,2)', 128n, '0080'],
    ['decimal(9,2)', -129n, 'ff7f'],
  ] as [string, BoundValue, string][])('%s %s ⇄ %s', (type, value, bytes) => {
    expect(hex(encodeBound(type, value))).toBe(bytes);
    expect(decodeBound(type, Buffer.from(bytes, 'hex'))).toEqual(value);
  });

  it('round-trips longs, ints and strings', () => {
    fc.assert(fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (v) => {
      expect(decodeBound('long', encodeBound('long', v))).toBe(v);
    }));
    fc.assert(fc.property(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), (v) => {
      expect(decodeBound('int', encodeBound('int', v))).toBe(v);
    }));
    fc.assert(fc.property(fc.string({ unit: 'grapheme' }), (v) => {
      expect(decodeBound('string', encodeBound('string', v))).toBe(v);
    }));
    fc.assert(fc.property(fc.bigInt({ min: -(2n ** 127n), max: 2n ** 127n }), (v) => {
      expect(decodeBound('decimal(38,0)', encodeBound('decimal(38,0)', v))).toBe(v);
    }));
  });

  it('accepts safe numbers for longs and reads int bounds of promoted columns', () => {
    expect(decodeBound('long', encodeBound('long', 20_000))).toBe(20_000n);
    expect(decodeBound('long', encodeBound('int', 7))).toBe(7n);
  });

  it('refuses values that do not fit, and bounds of the wrong length', () => {
    expect(() => encodeBound('int', 2 ** 31)).toThrow(/32-bit/);
    expect(() => encodeBound('long', 2n ** 63n)).toThrow(/64-bit/);
    expect(() => encodeBound('long', 1.5)).toThrow(/64-bit/);
    expect(() => encodeBound('double', Number.NaN)).toThrow(/NaN/);
    expect(() => encodeBound('fixed[2]', Uint8Array.of(1))).toThrow(/2 bytes/);
    expect(() => encodeBound('uuid', 'nope')).toThrow(/uuid/);
    expect(() => encodeBound('list<int>', 1)).toThrow(/no single-value serialization/);
    expect(() => decodeBound('int', Uint8Array.of(1, 2))).toThrow(/2 bytes/);
    expect(() => decodeBound('string', Uint8Array.of(0xff))).toThrow();
  });

  it('orders strings by code point like UTF-8 bytes, numbers across number and bigint', () => {
    expect(compareValues('\uffff', '😀')).toBeLessThan(0); // UTF-16 order would say the opposite
    expect(compareValues('a', 'ab')).toBeLessThan(0);
    expect(compareValues(5n, 6)).toBeLessThan(0);
    expect(compareValues(-0, 0)).toBeLessThan(0);
    expect(compareValues(Uint8Array.of(1, 255), Uint8Array.of(2))).toBeLessThan(0);
    expect(() => compareValues('a', 1)).toThrow(/cannot compare/);
  });
});

import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { makeVector } from 'apache-arrow';
import { Utf8ListWriter, Utf8Writer } from '../src/index.js';

describe('Utf8Writer', () => {
  it('writes RPC quantities of any safe integer', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.integer({ min: 0, max: 0xffff }), fc.maxSafeNat())), (values) => {
        const w = new Utf8Writer(1, 1);
        for (const v of values) w.pushHexQuantity(v);
        expect(w.length).toBe(values.length);
        const vector = w.finish();
        const strings = values.map((_, i) => {
          const offsets = vector.valueOffsets;
          return new TextDecoder().decode(vector.values.subarray(offsets[i], offsets[i + 1]));
        });
        expect(strings).toEqual(values.map((v) => `0x${v.toString(16)}`));
      }),
    );
  });

  it('writes quantities, strings and nulls, growing as needed', () => {
    const w = new Utf8Writer(1, 1);
    w.pushHexQuantity(0);
    w.pushHexQuantity(Number.MAX_SAFE_INTEGER);
    w.pushNull();
    w.pushString('0xabc');
    w.pushString('é'.repeat(60));
    const data = w.finish();
    expect(data.nullCount).toBe(1);
    expect([...makeVector(data)]).toEqual(['0x0', '0x1fffffffffffff', null, '0xabc', 'é'.repeat(60)]);
  });

  it('builds lists of strings', () => {
    const w = new Utf8ListWriter(1, 1, 1);
    w.endList();
    w.items.pushString('a');
    w.items.pushString('b');
    w.endList();
    const lists = [...makeVector(w.finish())] as unknown as { toArray(): string[] }[];
    expect(lists.map((list) => [...list.toArray()])).toEqual([[], ['a', 'b']]);
  });
});

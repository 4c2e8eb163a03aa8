import { describe, it, expect } from 'vitest';
import { Utf8Writer } from '@chainlake/chain-evm';
import { Column, pushQuantities, pushQuantity } from '../src/columns.js';
import { Random } from '../src/random.js';

describe('quantities', () => {
  const edges = [
    0, 1, 9, 10, 15, 16, 255, 256, 0xfff, 0x1000, 0xffff, 0x10000, 0xfffff, 0x7fffffff, 0x80000000, 0xffffffff,
    2 ** 32, 2 ** 32 + 1, 2 ** 36 - 1, 2 ** 36, 60_000_000_000, 2 ** 48, Number.MAX_SAFE_INTEGER,
  ];

  function written(push: (column: Column) => void): string[] {
    const column = new Column();
    column.attach(new Utf8Writer(1, 1));
    push(column);
    const data = column.finish();
    const text = new TextDecoder().decode(data.values);
    return Array.from({ length: data.length }, (_, i) =>
      data.nullBitmap.length > 0 && !(data.nullBitmap[i >> 3] & (1 << (i & 7)))
        ? 'null'
        : text.slice(data.valueOffsets[i], data.valueOffsets[i + 1]),
    );
  }

  it('writes 0x and the hex digits without leading zeros, whatever follows', () => {
    const random = new Random(1);
    const mixed = [...edges, ...Array.from({ length: 1000 }, () => Math.floor(random.float() * 2 ** (1 + random.int(53))))];
    const expected = mixed.map((v) => `0x${v.toString(16)}`);
    expect(written((column) => mixed.forEach((v) => pushQuantity(column, v)))).toEqual(expected);
    expect(written((column) => pushQuantities(column, Float64Array.from(mixed), mixed.length))).toEqual(expected);
  });

  it('writes negative values as nulls', () => {
    expect(written((column) => pushQuantities(column, Float64Array.from([5, -1, 0, -1]), 4))).toEqual(['0x5', 'null', '0x0', 'null']);
  });
});

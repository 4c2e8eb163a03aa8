import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mergeRanges, subtractRanges } from '../src/ranges.js';

const range = fc.tuple(fc.nat(500), fc.nat(50)).map(([start, len]) => ({ start, end: start + len }));

describe('block ranges', () => {
  it('subtracts covered ranges', () => {
    expect(subtractRanges({ start: 0, end: 99 }, [])).toEqual([{ start: 0, end: 99 }]);
    expect(subtractRanges({ start: 0, end: 99 }, [{ start: 0, end: 99 }])).toEqual([]);
    expect(subtractRanges({ start: 0, end: 99 }, [{ start: 10, end: 19 }, { start: 50, end: 200 }])).toEqual([
      { start: 0, end: 9 },
      { start: 20, end: 49 },
    ]);
  });

  it('merges overlapping and adjacent ranges', () => {
    expect(mergeRanges([{ start: 5, end: 9 }, { start: 0, end: 4 }, { start: 20, end: 30 }, { start: 25, end: 26 }])).toEqual([
      { start: 0, end: 9 },
      { start: 20, end: 30 },
    ]);
  });

  it('keeps exactly the blocks of a range that no covered range holds', () => {
    fc.assert(
      fc.property(range, fc.array(range, { maxLength: 8 }), (r, covered) => {
        const merged = mergeRanges(covered);
        const left = new Set<number>();
        for (const piece of subtractRanges(r, merged)) for (let b = piece.start; b <= piece.end; b++) left.add(b);
        for (let b = r.start; b <= r.end; b++) {
          const isCovered = covered.some((c) => c.start <= b && b <= c.end);
          expect(left.has(b)).toBe(!isCovered);
        }
        expect([...left].every((b) => b >= r.start && b <= r.end)).toBe(true);
      }),
    );
  });
});

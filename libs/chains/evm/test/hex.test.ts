import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { HEX_VALUE, firstSignificant, quantity, readQuantity, scanHex, scanned, writeDecimal } from '../src/hex.js';

const ascii = (text: string) => new TextEncoder().encode(text);
const DIGITS = ascii('0123456789abcdef');
/** Invalid, and upper case if it were a digit: counted wrongly if a scan strays outside its range. */
const JUNK = 'G'.charCodeAt(0);

/** `text` in a fresh buffer whose view starts at byte `shift`, between junk bytes; and its range in that view. */
function placed(text: Uint8Array, shift: number) {
  const view = new Uint8Array(shift + text.length + 6).fill(JUNK).subarray(shift);
  view.set(text, 3);
  return { view, start: 3, end: 3 + text.length };
}

function scan(text: Uint8Array, shift: number): [number, boolean] {
  const { view, start, end } = placed(text, shift);
  scanHex(view, start, end);
  return [scanned.nonHex, scanned.upper];
}

describe('scanHex', () => {
  it('counts each byte that is not a hex digit, at any position, length and alignment', () => {
    for (let shift = 0; shift < 4; shift++) {
      for (let length = 0; length <= 72; length++) {
        const digits = Uint8Array.from({ length }, (_, i) => DIGITS[(i * 7) % 16]);
        expect(scan(digits, shift)).toEqual([0, false]);
        for (let at = 0; at < length; at++) {
          for (const [byte, expected] of [
            ['g', [1, false]],
            ['x', [1, false]],
            ['F', [0, true]],
          ] as const) {
            const text = digits.slice();
            text[at] = byte.charCodeAt(0);
            expect(scan(text, shift), `${byte} at ${at} of ${length}, shift ${shift}`).toEqual(expected);
          }
        }
        if (length >= 2) {
          const twice = digits.slice();
          twice[0] = 0xff;
          twice[length - 1] = 0x00;
          expect(scan(twice, shift)).toEqual([2, false]);
        }
      }
    }
  });

  it('classifies every byte value in every byte of a word', () => {
    for (let byte = 0; byte < 256; byte++) {
      const upper = byte >= 65 && byte <= 70;
      for (let at = 32; at < 40; at++) {
        const text = Uint8Array.from({ length: 80 }, (_, i) => DIGITS[i % 16]);
        text[at] = byte;
        expect(scan(text, 0)).toEqual([HEX_VALUE[byte] < 0 ? 1 : 0, upper]);
      }
    }
  });
});

describe('readQuantity', () => {
  const read = (text: string) => {
    const bytes = ascii(text);
    return readQuantity(bytes, 0, bytes.length) ? { ...quantity, first: firstSignificant(bytes, 0, bytes.length) } : null;
  };

  it('reads any quantity, with leading zeros and in any case, as its low 64 bits and whether more follow', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 256n - 1n }), fc.nat({ max: 20 }), fc.boolean(), (value, zeros, upper) => {
        const digits = value.toString(16);
        const text = `0x${'0'.repeat(zeros)}${upper ? digits.toUpperCase() : digits}`;
        expect(read(text)).toEqual({
          lo: Number(value & 0xffffffffn),
          hi: Number((value >> 32n) & 0xffffffffn),
          above64: value >= 2n ** 64n,
          first: value === 0n ? text.length : text.length - digits.length,
        });
      }),
      { numRuns: 500 },
    );
  });

  it('keeps the 64 bits exactly at 16 and 17 digits', () => {
    expect(read('0xffffffffffffffff')).toMatchObject({ lo: 0xffffffff, hi: 0xffffffff, above64: false });
    expect(read('0x0ffffffffffffffff')).toMatchObject({ lo: 0xffffffff, hi: 0xffffffff, above64: false });
    expect(read('0x10000000000000000')).toMatchObject({ lo: 0, hi: 0, above64: true });
    expect(read('0x80000000')).toMatchObject({ lo: 0x80000000, hi: 0, above64: false });
  });

  it('rejects what is not 0x and hex digits', () => {
    for (const bad of ['', '0', '0x', '0X1', 'x1', '1', '00x1', '0x1g', '0xg1', '0x 1', '0x-1', '0x1:', '0x/', '0x@', '0x`']) {
      expect(read(bad), bad).toBeNull();
    }
  });
});

describe('writeDecimal', () => {
  it('writes safe integers as String does', () => {
    const out = new Uint8Array(40);
    const write = (value: number) => new TextDecoder().decode(out.subarray(3, writeDecimal(value, out, 3)));
    for (const value of [0, 1, 9, 10, 99, 100, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 52 - 1, 1e15, Number.MAX_SAFE_INTEGER]) {
      expect(write(value)).toBe(String(value));
    }
    fc.assert(
      fc.property(fc.maxSafeNat(), (value) => {
        expect(write(value)).toBe(String(value));
      }),
    );
  });
});

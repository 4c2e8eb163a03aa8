/** Value of each byte as a hex digit, -1 for anything else (32-bit entries: faster to read in the digit loops). */
export const HEX_VALUE = new Int32Array(256).fill(-1);
for (let i = 0; i < 10; i++) HEX_VALUE[48 + i] = i;
for (let i = 0; i < 6; i++) {
  HEX_VALUE[97 + i] = 10 + i;
  HEX_VALUE[65 + i] = 10 + i;
}

/** 0 for 0-9 and a-f, UPPER for A-F, INVALID otherwise: OR it over a value's bytes, test once. */
export const HEX_CLASS = new Uint8Array(256).fill(4);
export const UPPER = 1;
export const INVALID = 4;
for (let c = 0; c < 256; c++) if (HEX_VALUE[c] >= 0) HEX_CLASS[c] = c >= 65 && c <= 70 ? UPPER : 0;

/**
 * PAIR_CLASS[a | b << 8] for bytes a and b: how many of the two are not hex digits (bits 0-1), and
 * PAIR_UPPER when one is an upper-case digit. Eight entries add up without the count (at most 16)
 * reaching the upper-case bits. Symmetric in a and b, so the byte order of a 32-bit read does not matter.
 */
const PAIR_CLASS = new Uint8Array(65536);
const PAIR_UPPER = 32;
const PAIR_COUNT = PAIR_UPPER - 1;
for (let a = 0; a < 256; a++) {
  for (let b = 0; b < 256; b++) {
    const classes = HEX_CLASS[a] | HEX_CLASS[b];
    PAIR_CLASS[a | (b << 8)] = (HEX_CLASS[a] >> 2) + (HEX_CLASS[b] >> 2) + (classes & UPPER ? PAIR_UPPER : 0);
  }
}

/** Result of `scanHex`. */
export const scanned = { nonHex: 0, upper: false };

/**
 * Counts the bytes in [start, end) that are not hex digits into `scanned.nonHex`, and notes in
 * `scanned.upper` whether an upper-case digit occurs. Reads the 4-byte-aligned middle as 32-bit
 * words, four per step and two bytes per table lookup: several times faster than a lookup per byte.
 */
export function scanHex(b: Uint8Array, start: number, end: number): void {
  let nonHex = 0;
  let classes = 0;
  let p = start;
  if (end - start >= 32) {
    const aligned = p + ((4 - ((b.byteOffset + p) & 3)) & 3);
    for (; p < aligned; p++) {
      const c = HEX_CLASS[b[p]];
      nonHex += c >> 2;
      classes |= c;
    }
    const words = new Int32Array(b.buffer, b.byteOffset + p, (end - p) >> 2);
    const steps = words.length & ~3;
    let sums = 0;
    for (let k = 0; k < steps; k += 4) {
      const w0 = words[k];
      const w1 = words[k + 1];
      const w2 = words[k + 2];
      const w3 = words[k + 3];
      const sum =
        PAIR_CLASS[w0 & 0xffff] +
        PAIR_CLASS[w0 >>> 16] +
        PAIR_CLASS[w1 & 0xffff] +
        PAIR_CLASS[w1 >>> 16] +
        PAIR_CLASS[w2 & 0xffff] +
        PAIR_CLASS[w2 >>> 16] +
        PAIR_CLASS[w3 & 0xffff] +
        PAIR_CLASS[w3 >>> 16];
      nonHex += sum & PAIR_COUNT;
      sums |= sum;
    }
    for (let k = steps; k < words.length; k++) {
      const sum = PAIR_CLASS[words[k] & 0xffff] + PAIR_CLASS[words[k] >>> 16];
      nonHex += sum & PAIR_COUNT;
      sums |= sum;
    }
    if (sums & ~PAIR_COUNT) classes |= UPPER;
    p += words.length * 4;
  }
  for (; p < end; p++) {
    const c = HEX_CLASS[b[p]];
    nonHex += c >> 2;
    classes |= c;
  }
  scanned.nonHex = nonHex;
  scanned.upper = (classes & UPPER) !== 0;
}

/** POW10[i] = 10^i, exact up to 10^22. */
export const POW10 = Float64Array.from({ length: 23 }, (_, i) => 10 ** i);

const ZERO = 48;
const X = 120;
const DECIMAL_ZERO = 48;

/**
 * Result of `readQuantity`: the last 16 hex digits as unsigned 32-bit halves, and whether a
 * non-zero digit comes before them (the value needs more than 64 bits).
 */
export const quantity = { lo: 0, hi: 0, above64: false };

/**
 * Reads bytes [s, e) as an RPC quantity (`0x` and at least one hex digit) into `quantity`, in one
 * pass that validates and accumulates; false when malformed. Leading zeros are tolerated although
 * the spec forbids them.
 */
export function readQuantity(b: Uint8Array, s: number, e: number): boolean {
  if (e - s < 3 || b[s] !== ZERO || b[s + 1] !== X) return false;
  // The last 8 digits go to lo, the 8 before to hi; any digit before those is shifted out of hi.
  const split = e - 8 > s + 2 ? e - 8 : s + 2;
  let invalid = 0;
  let hi = 0;
  let lost = 0;
  for (let p = s + 2; p < split; p++) {
    const digit = HEX_VALUE[b[p]];
    invalid |= digit;
    lost |= hi >>> 28;
    hi = (hi << 4) | digit;
  }
  let lo = 0;
  for (let p = split; p < e; p++) {
    const digit = HEX_VALUE[b[p]];
    invalid |= digit;
    lo = (lo << 4) | digit;
  }
  if (invalid < 0) return false;
  quantity.lo = lo >>> 0;
  quantity.hi = hi >>> 0;
  quantity.above64 = lost !== 0;
  return true;
}

/** The index of the first significant digit of the valid quantity [s, e), e when it is zero. */
export function firstSignificant(b: Uint8Array, s: number, e: number): number {
  let p = s + 2;
  while (p < e && b[p] === ZERO) p++;
  return p;
}

/**
 * Writes the decimal form of a non-negative safe integer into `out` at `at`, returns the end
 * position. `out` needs room for 16 bytes.
 */
export function writeDecimal(value: number, out: Uint8Array, at: number): number {
  let digits = 1;
  while (digits < 16 && value >= POW10[digits]) digits++;
  let i = at + digits - 1;
  // Floating-point % is slow; divide instead, in 32-bit integers once the value fits.
  while (value > 0x7fffffff) {
    const q = Math.floor(value / 10);
    out[i--] = DECIMAL_ZERO + (value - q * 10);
    value = q;
  }
  let v = value | 0;
  while (i >= at) {
    const q = (v / 10) | 0;
    out[i--] = DECIMAL_ZERO + (v - q * 10);
    v = q;
  }
  return at + digits;
}

const limbs = new Float64Array(16);
const chunks = new Float64Array(10);

/**
 * Writes the decimal form of the hex digits [p, e) (at most 64, validated, no leading zero)
 * into `out` at `at`, returns the end position. Works on 16-bit limbs so that every intermediate
 * stays below 2^53: no BigInt, no strings. `out` needs room for 78 bytes.
 */
export function hexToDecimal(b: Uint8Array, p: number, e: number, out: Uint8Array, at: number): number {
  if (p === e) {
    out[at] = DECIMAL_ZERO;
    return at + 1;
  }
  let n = 0;
  for (let end = e; end > p; end -= 4) {
    const start = end - 4 > p ? end - 4 : p;
    let v = 0;
    for (let k = start; k < end; k++) v = v * 16 + HEX_VALUE[b[k]];
    limbs[n++] = v;
  }
  let top = n;
  let c = 0;
  while (top > 0) {
    let rem = 0;
    for (let i = top - 1; i >= 0; i--) {
      const cur = rem * 65536 + limbs[i];
      const q = Math.floor(cur / 1e9);
      limbs[i] = q;
      rem = cur - q * 1e9;
    }
    chunks[c++] = rem;
    while (top > 0 && limbs[top - 1] === 0) top--;
  }
  // Most significant chunk without padding, the others as 9 digits each; chunks fit int32.
  let v = chunks[c - 1] | 0;
  let digits = 1;
  while (digits < 9 && v >= POW10[digits]) digits++;
  for (let i = digits - 1; i >= 0; i--) {
    const q = (v / 10) | 0;
    out[at + i] = DECIMAL_ZERO + v - q * 10;
    v = q;
  }
  at += digits;
  for (let j = c - 2; j >= 0; j--) {
    v = chunks[j] | 0;
    for (let i = 8; i >= 0; i--) {
      const q = (v / 10) | 0;
      out[at + i] = DECIMAL_ZERO + v - q * 10;
      v = q;
    }
    at += 9;
  }
  return at;
}

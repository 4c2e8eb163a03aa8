/** Value of each byte as a hex digit, -1 for anything else. */
export const HEX_VALUE = new Int8Array(256).fill(-1);
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

/** POW10[i] = 10^i, exact up to 10^22. */
export const POW10 = Float64Array.from({ length: 23 }, (_, i) => 10 ** i);

const ZERO = 48;
const X = 120;
const DECIMAL_ZERO = 48;

/**
 * Checks that bytes [s, e) are an RPC quantity (`0x` and at least one hex digit) and returns the
 * index of its first significant digit (e when the value is zero), or -1 when malformed.
 * Leading zeros are tolerated although the spec forbids them.
 */
export function scanQuantity(b: Uint8Array, s: number, e: number): number {
  if (e - s < 3 || b[s] !== ZERO || b[s + 1] !== X) return -1;
  let first = e;
  for (let p = s + 2; p < e; p++) {
    const c = b[p];
    if (HEX_VALUE[c] < 0) return -1;
    if (first === e && c !== ZERO) first = p;
  }
  return first;
}

/** Result of `readUint64`: the value as two unsigned 32-bit halves. */
export const word = { lo: 0, hi: 0 };

/** Reads the hex digits [p, e) (at most 16, validated) into `word`. */
export function readUint64(b: Uint8Array, p: number, e: number): void {
  const split = e - 8 > p ? e - 8 : p;
  let hi = 0;
  for (let k = p; k < split; k++) hi = hi * 16 + HEX_VALUE[b[k]];
  let lo = 0;
  for (let k = split; k < e; k++) lo = lo * 16 + HEX_VALUE[b[k]];
  word.lo = lo;
  word.hi = hi;
}

/** Reads at most 13 hex digits [p, e) (validated) as a number: exact below 2^52. */
export function readSmall(b: Uint8Array, p: number, e: number): number {
  let v = 0;
  for (let k = p; k < e; k++) v = v * 16 + HEX_VALUE[b[k]];
  return v;
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

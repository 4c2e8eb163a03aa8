/**
 * Hex digits computed four at a time in 32-bit integers and written with one DataView store,
 * rather than one digit per table load and byte store.
 */

export const HEX_DIGITS = new Uint8Array([...'0123456789abcdef'].map((c) => c.charCodeAt(0)));

/**
 * The ASCII lowercase hex digits of four nibbles held one per byte (each byte 0 to 15), in the same
 * bytes: '0' + n, plus 'a' - '0' - 10 = 39 where n > 9, which is where n + 6 carries into bit 4.
 * No byte ever carries into the next one.
 */
export function hexDigits4(nibbles: number): number {
  return (nibbles + 0x30303030 + Math.imul(((nibbles + 0x06060606) >>> 4) & 0x01010101, 39)) | 0;
}

/** The four nibbles of the 16-bit `v`, one per byte, the most significant in the lowest byte. */
export function spreadNibbles(v: number): number {
  const bytes = (v >>> 8) | ((v & 0xff) << 16);
  return ((bytes >>> 4) & 0x000f000f) | ((bytes & 0x000f000f) << 8);
}

/** Writes the eight hex digits of the 32-bit `word`, most significant first, at `at`. */
export function writeHexWord(view: DataView, at: number, word: number): void {
  view.setUint32(at, hexDigits4(spreadNibbles(word >>> 16)), true);
  view.setUint32(at + 4, hexDigits4(spreadNibbles(word & 0xffff)), true);
}

/** Hex digits of a positive integer below 2^32, without leading zeros. */
export const hexDigitCount = (value: number): number => (35 - Math.clz32(value)) >> 2;

/**
 * Small, fast, seedable PRNG (sfc32, 32-bit state words, Math.imul only) keyed by arbitrary
 * integers, so that any block's content can be generated on its own: random access, no
 * sequential state shared between blocks.
 */

/** murmur3's 32-bit finalizer over a combination of h and v. */
function mix(h: number, v: number): number {
  h = Math.imul(h ^ (v >>> 0), 0xcc9e2d51);
  h = (h << 15) | (h >>> 17);
  h = Math.imul(h, 0x1b873593) ^ 0xe6546b64;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const HEX = new Uint8Array([...'0123456789abcdef'].map((c) => c.charCodeAt(0)));
const TWO_32 = 4294967296;

export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** A generator determined by the keys only (each an integer, safe range). */
  constructor(...keys: number[]) {
    let h = 0x9e3779b9;
    for (const key of keys) {
      h = mix(h, key % TWO_32);
      h = mix(h, Math.floor(key / TWO_32));
    }
    this.a = h;
    this.b = mix(h, 1);
    this.c = mix(h, 2);
    this.d = 1;
    for (let i = 0; i < 12; i++) this.u32();
  }

  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.u32() / TWO_32;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** Writes `digits` random lowercase hex digits into `out` at `at`; returns the end. */
  hex(out: Uint8Array, at: number, digits: number): number {
    let word = 0;
    for (let i = 0; i < digits; i++) {
      if ((i & 7) === 0) word = this.u32();
      out[at + i] = HEX[word & 15];
      word >>>= 4;
    }
    return at + digits;
  }
}

/**
 * Small, fast, seedable PRNG (sfc32, 32-bit state words, Math.imul only) keyed by arbitrary
 * integers, so that any block's content can be generated on its own: random access, no
 * sequential state shared between blocks.
 */
import { HEX_DIGITS, hexDigits4 } from './hex.js';

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

const TWO_32 = 4294967296;

export class Random {
  // Initialized here (not only in the constructor) and kept signed 32-bit, so that V8 holds them as
  // small integers rather than as tagged values or doubles.
  private a = 0;
  private b = 0;
  private c = 0;
  private d = 1;

  /** A generator determined by the keys only (each an integer, safe range). */
  constructor(...keys: number[]) {
    this.reseed(...keys);
  }

  /** Restarts as if newly constructed with these keys: one generator serves many blocks. */
  reseed(...keys: number[]): this {
    let h = 0x9e3779b9;
    for (const key of keys) {
      h = mix(h, key % TWO_32);
      h = mix(h, Math.floor(key / TWO_32));
    }
    this.a = h | 0;
    this.b = mix(h, 1) | 0;
    this.c = mix(h, 2) | 0;
    this.d = 1;
    for (let i = 0; i < 12; i++) this.u32();
    return this;
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
  hex(out: DataView, at: number, digits: number): number {
    // The generator's state lives in locals for the whole run rather than in fields per word.
    let a = this.a;
    let b = this.b;
    let c = this.c;
    let d = this.d;
    const end = at + digits;
    let i = at;
    while (i < end) {
      const t = (((a + b) | 0) + d) | 0;
      d = (d + 1) | 0;
      a = b ^ (b >>> 9);
      b = (c + (c << 3)) | 0;
      c = (c << 21) | (c >>> 11);
      c = (c + t) | 0;
      if (end - i >= 8) {
        out.setUint32(i, hexDigits4(t & 0x0f0f0f0f), true);
        out.setUint32(i + 4, hexDigits4((t >>> 4) & 0x0f0f0f0f), true);
        i += 8;
      } else {
        for (let word = t; i < end; word >>>= 4) out.setUint8(i++, HEX_DIGITS[word & 15]);
      }
    }
    this.a = a;
    this.b = b;
    this.c = c;
    this.d = d;
    return end;
  }
}

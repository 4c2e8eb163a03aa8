/**
 * HyperLogLog with precision 14 (16384 registers) over 53-bit hashes: standard error
 * 1.04/√16384 ≈ 0.81%, with linear counting below 2.5·m. Registers stay sparse until
 * {@link SPARSE_LIMIT} are set, so the many small per-block partials cost little: a sparse sketch
 * is a list of register updates (index · 64 + rank) that adding and merging only append to,
 * compacted (sorted, keeping each register's highest rank) when it has doubled.
 */
export const HLL_PRECISION = 14;
export const HLL_STANDARD_ERROR = 1.04 / Math.sqrt(1 << HLL_PRECISION);
const M = 1 << HLL_PRECISION;
const SUFFIX_BITS = 53 - HLL_PRECISION;
const SUFFIX = 2 ** SUFFIX_BITS;
const SPARSE_LIMIT = 512;
const MIN_COMPACT = 64;
const INVERSE_POWERS = Float64Array.from({ length: 64 }, (_, r) => 2 ** -r);

export class HyperLogLog {
  private updates: number[] | null = [];
  /** Length of `updates` when last compacted (all distinct registers then). */
  private compacted = 0;
  private dense: Uint8Array | null = null;

  /** Adds a 53-bit hash. */
  add(hash: number): void {
    const index = Math.floor(hash / SUFFIX);
    const suffix = hash - index * SUFFIX;
    const high = Math.floor(suffix / 4294967296);
    const zeros = high !== 0 ? Math.clz32(high) - (64 - SUFFIX_BITS) : 32 - (64 - SUFFIX_BITS) + Math.clz32(suffix >>> 0);
    this.set(index, Math.min(zeros, SUFFIX_BITS) + 1);
  }

  private set(index: number, rank: number): void {
    if (this.dense !== null) {
      if (rank > this.dense[index]) this.dense[index] = rank;
      return;
    }
    const updates = this.updates!;
    updates.push(index * 64 + rank);
    if (updates.length >= 2 * this.compacted + MIN_COMPACT) this.compact();
  }

  /** Sorts the sparse updates and keeps each register's highest rank; turns dense past {@link SPARSE_LIMIT} registers. */
  private compact(): void {
    const updates = this.updates!;
    const sorted = new Float64Array(updates.length);
    for (let i = 0; i < updates.length; i++) sorted[i] = updates[i];
    sorted.sort();
    const kept: number[] = [];
    for (let i = 0; i < sorted.length; i++) {
      const code = sorted[i];
      // Codes of one register are adjacent and ascend by rank: keep the last.
      if (i + 1 < sorted.length && Math.floor(sorted[i + 1] / 64) === Math.floor(code / 64)) continue;
      kept.push(code);
    }
    if (kept.length > SPARSE_LIMIT) {
      const dense = new Uint8Array(M);
      for (const code of kept) dense[Math.floor(code / 64)] = code % 64;
      this.dense = dense;
      this.updates = null;
      return;
    }
    this.updates = kept;
    this.compacted = kept.length;
  }

  merge(other: HyperLogLog): void {
    if (other.dense !== null) {
      if (this.dense === null) {
        this.dense = new Uint8Array(M);
        for (const code of this.updates!) this.set(Math.floor(code / 64), code % 64);
        this.updates = null;
      }
      const a = this.dense;
      const b = other.dense;
      for (let i = 0; i < M; i++) if (b[i] > a[i]) a[i] = b[i];
    } else if (this.dense !== null) {
      for (const code of other.updates!) this.set(Math.floor(code / 64), code % 64);
    } else {
      const updates = this.updates!;
      const more = other.updates!;
      for (let i = 0; i < more.length; i++) updates.push(more[i]);
      if (updates.length >= 2 * this.compacted + MIN_COMPACT) this.compact();
    }
  }

  estimate(): number {
    let sum = 0;
    let zeros = 0;
    if (this.updates !== null) this.compact();
    if (this.dense !== null) {
      for (let i = 0; i < M; i++) {
        const r = this.dense[i];
        sum += INVERSE_POWERS[r];
        if (r === 0) zeros++;
      }
    } else {
      const registers = this.updates!;
      zeros = M - registers.length;
      sum = zeros;
      for (let i = 0; i < registers.length; i++) sum += INVERSE_POWERS[registers[i] % 64];
    }
    const alpha = 0.7213 / (1 + 1.079 / M);
    const raw = (alpha * M * M) / sum;
    if (raw <= 2.5 * M && zeros > 0) return Math.round(M * Math.log(M / zeros));
    return Math.round(raw);
  }

  toJSON(): unknown {
    if (this.updates !== null) this.compact();
    if (this.dense !== null) return { dense: Buffer.from(this.dense).toString('base64') };
    return { sparse: this.updates!.flatMap((code) => [Math.floor(code / 64), code % 64]) };
  }

  static fromJSON(state: unknown): HyperLogLog {
    const s = state as { dense?: string; sparse?: number[] };
    const h = new HyperLogLog();
    if (s.dense !== undefined) {
      h.updates = null;
      h.dense = new Uint8Array(Buffer.from(s.dense, 'base64'));
    } else {
      for (let i = 0; i < s.sparse!.length; i += 2) h.set(s.sparse![i], s.sparse![i + 1]);
    }
    return h;
  }
}

/**
 * DDSketch (Masson, Rim, Lee 2019) with relative accuracy α = 1%: bucket i holds values in
 * (γ^(i−1), γ^i] with γ = (1+α)/(1−α) and reports 2γ^i/(γ+1), so the value returned for a rank is
 * within α·|x| of the exact value x at that rank. Negative values use a mirrored store; exact zeros
 * are counted apart. Unbounded store (values here are integers ≥ 1 or 0, so the bucket count is
 * at most ~log_γ(max) ≈ 115 per decade of magnitude range covered).
 */
export const DDSKETCH_RELATIVE_ACCURACY = 0.01;
const GAMMA = (1 + DDSKETCH_RELATIVE_ACCURACY) / (1 - DDSKETCH_RELATIVE_ACCURACY);
const LN_GAMMA = Math.log(GAMMA);

export class DDSketch {
  private positive = new Map<number, number>();
  private negative = new Map<number, number>();
  private zeros = 0;
  count = 0;

  add(v: number): void {
    this.count++;
    if (v > 0) bump(this.positive, Math.ceil(Math.log(v) / LN_GAMMA), 1);
    else if (v < 0) bump(this.negative, Math.ceil(Math.log(-v) / LN_GAMMA), 1);
    else this.zeros++;
  }

  merge(other: DDSketch): void {
    this.count += other.count;
    this.zeros += other.zeros;
    for (const [i, c] of other.positive) bump(this.positive, i, c);
    for (const [i, c] of other.negative) bump(this.negative, i, c);
  }

  /** The value at rank ⌊q·(n−1)⌋ of the sorted values, q in [0, 1]; null when empty. */
  quantile(q: number): number | null {
    if (this.count === 0) return null;
    let rank = Math.floor(q * (this.count - 1));
    const value = (i: number): number => (2 * GAMMA ** i) / (GAMMA + 1);
    for (const i of [...this.negative.keys()].sort((a, b) => b - a)) {
      rank -= this.negative.get(i)!;
      if (rank < 0) return -value(i);
    }
    rank -= this.zeros;
    if (rank < 0) return 0;
    const keys = [...this.positive.keys()].sort((a, b) => a - b);
    for (const i of keys) {
      rank -= this.positive.get(i)!;
      if (rank < 0) return value(i);
    }
    return value(keys[keys.length - 1]);
  }

  toJSON(): unknown {
    return { p: [...this.positive].flat(), n: [...this.negative].flat(), z: this.zeros, c: this.count };
  }

  static fromJSON(state: unknown): DDSketch {
    const s = state as { p: number[]; n: number[]; z: number; c: number };
    const d = new DDSketch();
    for (let i = 0; i < s.p.length; i += 2) d.positive.set(s.p[i], s.p[i + 1]);
    for (let i = 0; i < s.n.length; i += 2) d.negative.set(s.n[i], s.n[i + 1]);
    d.zeros = s.z;
    d.count = s.c;
    return d;
  }
}

function bump(store: Map<number, number>, index: number, by: number): void {
  store.set(index, (store.get(index) ?? 0) + by);
}

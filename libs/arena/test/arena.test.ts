import { describe, expect, it } from 'vitest';
import { SlabArena } from '../src/index.js';

const KiB = 1024;

describe('SlabArena', () => {
  it('hands out 8-byte aligned, non-overlapping memory from shared slabs', () => {
    const arena = new SlabArena({ maxBytes: 64 * KiB, slabBytes: 16 * KiB });
    const lease = arena.lease();
    const a = lease.allocate(5);
    const b = lease.allocate(100);
    const c = lease.allocate(3);
    for (const view of [a, b, c]) expect(view.byteOffset % 8).toBe(0);
    expect(a.buffer).toBe(b.buffer);
    a.fill(1);
    b.fill(2);
    c.fill(3);
    expect([...a]).toEqual([1, 1, 1, 1, 1]);
    expect(b.every((x) => x === 2)).toBe(true);
    expect(arena.usage()).toEqual({ slabBytes: 16 * KiB, leasedBytes: 16 * KiB, overflowBytes: 0 });
  });

  it('takes a new slab when the current one is full and reuses released slabs', () => {
    const arena = new SlabArena({ maxBytes: 64 * KiB, slabBytes: 16 * KiB });
    const first = arena.lease();
    const x = first.allocate(10 * KiB);
    const y = first.allocate(10 * KiB);
    expect(x.buffer).not.toBe(y.buffer);
    first.release();
    expect(arena.usage()).toMatchObject({ slabBytes: 32 * KiB, leasedBytes: 0 });
    const second = arena.lease();
    const z = second.allocate(1 * KiB);
    expect([x.buffer, y.buffer]).toContain(z.buffer);
    expect(arena.usage()).toMatchObject({ slabBytes: 32 * KiB, leasedBytes: 16 * KiB });
  });

  it('leases may end in any order without sharing memory', () => {
    const arena = new SlabArena({ maxBytes: 64 * KiB, slabBytes: 16 * KiB });
    const older = arena.lease();
    const newer = arena.lease();
    const kept = older.allocate(4 * KiB).fill(7);
    newer.allocate(4 * KiB);
    newer.release();
    const other = arena.lease();
    other.allocate(16 * KiB).fill(9);
    expect(kept.every((x) => x === 7)).toBe(true);
    older.release();
  });

  it('falls back to plain allocations past maxBytes and for requests larger than a slab', () => {
    const arena = new SlabArena({ maxBytes: 32 * KiB, slabBytes: 16 * KiB });
    const lease = arena.lease();
    lease.allocate(16 * KiB);
    lease.allocate(16 * KiB);
    const overflow = lease.allocate(1 * KiB);
    const large = lease.allocate(20 * KiB);
    expect(overflow.byteLength).toBe(1 * KiB);
    expect(large.byteLength).toBe(20 * KiB);
    expect(large.byteOffset % 8).toBe(0);
    expect(arena.usage()).toEqual({ slabBytes: 32 * KiB, leasedBytes: 32 * KiB, overflowBytes: 21 * KiB });
    lease.release();
    expect(arena.usage().leasedBytes).toBe(0);
  });

  it('refuses use after release, counts a double release once, and rejects bad sizes', () => {
    const arena = new SlabArena({ maxBytes: 32 * KiB, slabBytes: 16 * KiB });
    const lease = arena.lease();
    lease.allocate(8);
    lease.release();
    lease.release();
    expect(arena.usage().leasedBytes).toBe(0);
    expect(() => lease.allocate(8)).toThrow(/released arena lease/);
    expect(() => arena.lease().allocate(-1)).toThrow(/cannot allocate -1 bytes/);
    expect(() => new SlabArena({ maxBytes: 1024, slabBytes: 12 })).toThrow(/multiple of 8/);
    expect(() => new SlabArena({ maxBytes: Number.NaN })).toThrow(/maxBytes/);
  });
});

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

  it('gives a request larger than a slab a block of whole slabs, reused for requests of about that size', () => {
    const arena = new SlabArena({ maxBytes: 128 * KiB, slabBytes: 16 * KiB });
    const first = arena.lease();
    const large = first.allocate(20 * KiB);
    expect(large.byteLength).toBe(20 * KiB);
    expect(large.buffer.byteLength).toBe(32 * KiB);
    first.release();
    const second = arena.lease();
    expect(second.allocate(30 * KiB).buffer).toBe(large.buffer);
    expect(arena.usage()).toEqual({ slabBytes: 32 * KiB, leasedBytes: 32 * KiB, overflowBytes: 0 });
  });

  it('bumps on in the slab with more room left, so a large request does not strand the rest of a slab', () => {
    const arena = new SlabArena({ maxBytes: 64 * KiB, slabBytes: 16 * KiB });
    const lease = arena.lease();
    const small = lease.allocate(2 * KiB);
    const large = lease.allocate(15 * KiB);
    expect(large.buffer).not.toBe(small.buffer);
    const next = lease.allocate(10 * KiB);
    expect(next.buffer).toBe(small.buffer);
    expect(next.byteOffset).toBe(2 * KiB);
    const after = lease.allocate(5 * KiB); // 4 KiB left in the first slab, 1 KiB in the second
    expect([small.buffer, large.buffer]).not.toContain(after.buffer);
    expect(lease.allocate(8 * KiB).buffer).toBe(after.buffer); // the third slab has 11 KiB left
    expect(arena.usage()).toMatchObject({ slabBytes: 48 * KiB, overflowBytes: 0 });
  });

  it('reuses a free block up to a quarter larger than a request, and counts it whole', () => {
    const arena = new SlabArena({ maxBytes: 256 * KiB, slabBytes: 8 * KiB });
    const first = arena.lease();
    const block = first.allocate(39 * KiB); // a 40 KiB block
    first.release();
    const second = arena.lease();
    const smaller = second.allocate(30 * KiB); // needs 32 KiB: the 40 KiB block will do
    expect(smaller.buffer).toBe(block.buffer);
    expect(arena.usage()).toEqual({ slabBytes: 40 * KiB, leasedBytes: 40 * KiB, overflowBytes: 0 });
    const third = arena.lease();
    third.allocate(39 * KiB);
    second.release();
    expect(third.allocate(20 * KiB).buffer).not.toBe(block.buffer); // needs 24 KiB: 40 is too large
    expect(arena.usage()).toEqual({ slabBytes: 104 * KiB, leasedBytes: 64 * KiB, overflowBytes: 0 });
  });

  it('drops free blocks of other sizes to make room, and past maxBytes falls back to plain allocations', () => {
    const arena = new SlabArena({ maxBytes: 48 * KiB, slabBytes: 16 * KiB });
    const first = arena.lease();
    first.allocate(40 * KiB); // a 48 KiB block: the whole arena
    first.release();
    const second = arena.lease();
    const slab = second.allocate(1 * KiB);
    expect(slab.buffer.byteLength).toBe(16 * KiB); // the free 48 KiB block was dropped for it
    second.allocate(16 * KiB);
    second.allocate(16 * KiB);
    const overflow = second.allocate(16 * KiB);
    expect(overflow.byteLength).toBe(16 * KiB);
    expect(overflow.byteOffset % 8).toBe(0);
    expect(arena.usage()).toEqual({ slabBytes: 48 * KiB, leasedBytes: 48 * KiB, overflowBytes: 16 * KiB });
    second.release();
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

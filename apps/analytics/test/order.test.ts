import { describe, expect, it } from 'vitest';
import { BlockOrder } from '../src/order.js';

const seg = (from: number, to: number) => ({ from, to });

describe('BlockOrder', () => {
  it('hands segments on in block order whatever order they arrive in', () => {
    const order = new BlockOrder<{ from: number; to: number }>(0, 10_000);
    order.offer(seg(20, 29), 0);
    order.offer(seg(10, 19), 0);
    expect(order.take(1).ready).toEqual([]);
    order.offer(seg(0, 9), 2);
    expect(order.take(3).ready).toEqual([seg(0, 9), seg(10, 19), seg(20, 29)]);
    expect(order.next).toBe(30);
  });

  it('starts at the first segment when it has no position yet, and knows re-announcements', () => {
    const order = new BlockOrder<{ from: number; to: number }>(undefined, 10_000);
    order.offer(seg(500, 599));
    expect(order.take().ready).toEqual([seg(500, 599)]);
    expect(order.isBehind(seg(400, 499))).toBe(true);
    expect(order.isBehind(seg(550, 649))).toBe(false);
  });

  it('gives up on a gap after the longest wait and reports it', () => {
    const order = new BlockOrder<{ from: number; to: number }>(0, 1000);
    order.offer(seg(10, 19), 0);
    expect(order.take(999)).toEqual({ ready: [], skipped: [] });
    expect(order.take(1000)).toEqual({ ready: [seg(10, 19)], skipped: [{ from: 0, to: 9 }] });
  });

  it('rewinds to a fork point, so re-produced blocks are applied again', () => {
    const order = new BlockOrder<{ from: number; to: number }>(100, 1000);
    order.rewind(95);
    order.offer(seg(95, 99));
    expect(order.take().ready).toEqual([seg(95, 99)]);
    order.rewind(200);
    expect(order.next).toBe(100);
  });
});

import { describe, expect, it } from 'vitest';
import { ReorgTracker } from '../src/reorg.js';

describe('ReorgTracker', () => {
  it('finds the highest announced block that is still canonical', () => {
    let hashes = new Map<number, string>(Array.from({ length: 20 }, (_, n) => [n, `a${n}`]));
    const tracker = new ReorgTracker(() => 4);
    tracker.remember(0, 19, (n) => hashes.get(n)!);
    expect(tracker.check((n) => hashes.get(n)!)).toBeUndefined();
    hashes = new Map([...hashes].map(([n, h]) => [n, n >= 17 ? `b${n}` : h]));
    expect(tracker.check((n) => hashes.get(n)!)).toBe(16);
    expect(tracker.check((n) => hashes.get(n)!)).toBeUndefined();
  });

  it('forgets blocks once they are final', () => {
    let finalized = 4;
    const tracker = new ReorgTracker(() => finalized);
    tracker.remember(0, 9, (n) => `a${n}`);
    finalized = 9;
    tracker.remember(10, 10, (n) => `a${n}`);
    expect(tracker.check((n) => (n < 10 ? 'changed' : `a${n}`))).toBeUndefined();
  });
});

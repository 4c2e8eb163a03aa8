import { describe, expect, it } from 'vitest';
import { FinalityView, ReorgedBlocks, splitAtFinalized } from '../src/finality.js';

describe('FinalityView', () => {
  it('is unknown until the first head message, then only moves up', async () => {
    const view = new FinalityView();
    expect(view.finalized).toBeUndefined();
    let known = false;
    void view.known.then(() => (known = true));
    await Promise.resolve();
    expect(known).toBe(false);
    view.observe(100);
    await view.known;
    expect(view.finalized).toBe(100);
    view.observe(90); // a late or lagging head message never takes finality back
    expect(view.finalized).toBe(100);
    view.observe(120);
    expect(view.finalized).toBe(120);
  });
});

describe('splitAtFinalized', () => {
  it('sends blocks at or below the finalized height cold and the rest hot, splitting a straddling range', () => {
    expect(splitAtFinalized({ start: 10, end: 20 }, 15)).toEqual({ cold: { start: 10, end: 15 }, hot: { start: 16, end: 20 } });
    expect(splitAtFinalized({ start: 10, end: 20 }, 20)).toEqual({ cold: { start: 10, end: 20 }, hot: undefined });
    expect(splitAtFinalized({ start: 10, end: 20 }, 9)).toEqual({ cold: undefined, hot: { start: 10, end: 20 } });
    expect(splitAtFinalized({ start: 0, end: 5 }, -1)).toEqual({ cold: undefined, hot: { start: 0, end: 5 } });
  });
});

describe('ReorgedBlocks', () => {
  it('cuts a range into pieces inside and outside the blocks reorgs replaced', () => {
    const reorged = new ReorgedBlocks();
    reorged.add(17, 20); // blocks 18-20
    reorged.add(29, 30); // block 30
    reorged.add(19, 22); // overlaps the first: 18-22
    reorged.add(40, 40); // nothing replaced
    expect(reorged.size).toBe(2);
    expect(reorged.split({ start: 10, end: 35 })).toEqual([
      { start: 10, end: 17, reorged: false },
      { start: 18, end: 22, reorged: true },
      { start: 23, end: 29, reorged: false },
      { start: 30, end: 30, reorged: true },
      { start: 31, end: 35, reorged: false },
    ]);
    expect(reorged.split({ start: 19, end: 21 })).toEqual([{ start: 19, end: 21, reorged: true }]);
    expect(reorged.split({ start: 0, end: 5 })).toEqual([{ start: 0, end: 5, reorged: false }]);
  });
});

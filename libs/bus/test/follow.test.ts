import { describe, expect, it } from 'vitest';
import { followSubject, publishDurable, ReorgMessage, type Reorg } from '../src/index.js';
import { busesClosedAfterEach, waitFor } from './helpers.js';

const { open, cleanups } = busesClosedAfterEach();
const reorg = (forkPoint: number): Reorg => ({ v: 1, chain: 'synthetic', forkPoint, head: forkPoint + 3, at: new Date().toISOString() });

describe('followSubject', () => {
  it('replays what the stream keeps, says when it has caught up, then follows new messages', async () => {
    const bus = await open('follow');
    const subject = bus.subjects.reorg('synthetic');
    for (const n of [10, 20, 30]) await publishDurable(bus, subject, ReorgMessage, reorg(n));
    await bus.js.publish(subject, new TextEncoder().encode('{"v":1}'));
    await publishDurable(bus, bus.subjects.reorg('other'), ReorgMessage, { ...reorg(99), chain: 'other' });

    const seen: number[] = [];
    const invalid: string[] = [];
    const following = await followSubject(bus, {
      stream: bus.streams.events, subject, codec: ReorgMessage,
      onMessage: (m) => seen.push(m.forkPoint),
      onInvalid: (err) => invalid.push(err.message),
    });
    cleanups.push(() => following.stop());
    await following.caughtUp;
    expect(seen).toEqual([10, 20, 30]);
    expect(invalid).toEqual([expect.stringMatching(/invalid ReorgMessage: chain: required/)]);

    await publishDurable(bus, subject, ReorgMessage, reorg(40));
    await waitFor(() => seen.length === 4, 'the new message');
    expect(seen).toEqual([10, 20, 30, 40]);
  });

  it('is caught up at once on an empty subject', async () => {
    const bus = await open('follow');
    const following = await followSubject(bus, { stream: bus.streams.events, subject: bus.subjects.reorg('synthetic'), codec: ReorgMessage, onMessage: () => {} });
    cleanups.push(() => following.stop());
    await expect(following.caughtUp).resolves.toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import { nanos } from '@nats-io/transport-node';
import { testNatsUrl, uniquePrefix } from '@chainlake/testkit';
import {
  checkpoints,
  connectBus,
  deleteStreams,
  ensureStreams,
  HeadMessage,
  publishCore,
  publishDurable,
  RawSegmentMessage,
  type RawSegment,
} from '../src/index.js';
import { busesClosedAfterEach } from './helpers.js';

const segment = (from: number): RawSegment => ({
  v: 1,
  chain: 'synthetic',
  from,
  to: from + 9,
  blocks: 10,
  rows: 100,
  bytes: 1_000,
  headHash: '0x01',
  location: 'grpc://127.0.0.1:50051',
  tickets: { raw: `synthetic:${from}` },
});

const { open, cleanups } = busesClosedAfterEach();

describe('streams', () => {
  it('creates the four streams on file storage and is idempotent', async () => {
    const bus = await open('streams');
    await ensureStreams(bus, { maxAgeMs: 3_600_000 });
    const names = Object.values(bus.streams);
    for (const name of names) {
      const info = await bus.jsm.streams.info(name);
      expect(info.config.storage).toBe('file');
      expect(info.config.retention).toBe('limits');
      expect(info.config.max_age).toBe(nanos(3_600_000));
    }
    expect((await bus.jsm.streams.info(bus.streams.raw)).config.subjects).toEqual([`${bus.prefix}.*.raw.segments`]);
    await ensureStreams(bus, { maxAgeMs: 7_200_000 });
    expect((await bus.jsm.streams.info(bus.streams.typed)).config.max_age).toBe(nanos(7_200_000));
  });

  it('runs concurrently from several replicas', async () => {
    const bus = await connectBus({ servers: testNatsUrl(), prefix: uniquePrefix('race'), name: 'race' });
    cleanups.push(async () => {
      await deleteStreams(bus);
      await bus.drain();
    });
    await Promise.all([ensureStreams(bus), ensureStreams(bus), ensureStreams(bus)]);
    expect((await bus.jsm.streams.info(bus.streams.events)).config.subjects).toContain(`${bus.prefix}.*.events.reorg`);
  });

  it('deleteStreams removes the streams and the checkpoint bucket', async () => {
    const bus = await connectBus({ servers: testNatsUrl(), prefix: uniquePrefix('del'), name: 'del' });
    cleanups.push(() => bus.drain());
    await ensureStreams(bus);
    await (await checkpoints(bus)).put('source.synthetic', '1');
    await deleteStreams(bus);
    const remaining: string[] = [];
    for await (const name of bus.jsm.streams.names()) if (name.includes(bus.prefix.toUpperCase()) || name.includes(bus.prefix)) remaining.push(name);
    expect(remaining).toEqual([]);
    await deleteStreams(bus);
  });
});

describe('publishDurable', () => {
  it('stores a message once per msgId', async () => {
    const bus = await open('dedup');
    const subject = bus.subjects.rawSegments('synthetic');
    const first = await publishDurable(bus, subject, RawSegmentMessage, segment(0), 'synthetic:0-9');
    const again = await publishDurable(bus, subject, RawSegmentMessage, segment(0), 'synthetic:0-9');
    const other = await publishDurable(bus, subject, RawSegmentMessage, segment(10), 'synthetic:10-19');
    expect(first.duplicate).toBe(false);
    expect(again).toEqual({ seq: first.seq, duplicate: true });
    expect(other).toEqual({ seq: first.seq + 1, duplicate: false });
    expect((await bus.jsm.streams.info(bus.streams.raw)).state.messages).toBe(2);
  });

  it('refuses an invalid message before it reaches the stream', async () => {
    const bus = await open('invalid');
    await expect(publishDurable(bus, bus.subjects.rawSegments('synthetic'), RawSegmentMessage, { ...segment(0), from: 50 })).rejects.toThrow(
      /from: must be ≤ to/,
    );
    expect((await bus.jsm.streams.info(bus.streams.raw)).state.messages).toBe(0);
  });

  it('fails on a subject no stream captures', async () => {
    const bus = await open('nostream');
    await expect(publishDurable(bus, `${bus.prefix}.nowhere`, RawSegmentMessage, segment(0))).rejects.toThrow();
  });
});

describe('publishCore', () => {
  it('delivers head messages to subscribers', async () => {
    const bus = await open('core');
    const subject = bus.subjects.head('synthetic');
    const sub = bus.nc.subscribe(subject, { max: 1 });
    const head = { v: 1 as const, chain: 'synthetic', head: 120, finalized: 100, at: new Date().toISOString() };
    publishCore(bus, subject, HeadMessage, head);
    for await (const msg of sub) expect(HeadMessage.decode(msg.data)).toEqual(head);
    expect(sub.getProcessed()).toBe(1);
  });
});

describe('checkpoints', () => {
  it('survive a new connection', async () => {
    const bus = await open('kv');
    const first = await checkpoints(bus);
    expect(await first.get('source.synthetic')).toBeUndefined();
    await first.put('source.synthetic', '1000');
    await first.put('source.synthetic', '1100');
    const other = await connectBus({ servers: testNatsUrl(), prefix: bus.prefix, name: 'kv-2' });
    try {
      const second = await checkpoints(other);
      expect(await second.get('source.synthetic')).toBe('1100');
      expect(await second.get('source.eth')).toBeUndefined();
    } finally {
      await other.drain();
    }
  });
});

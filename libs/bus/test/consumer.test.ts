import { describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  consumeDurable,
  consumerProgress,
  DeadLetterMessage,
  MessageError,
  publishDurable,
  RawSegmentMessage,
  type Bus,
  type DurableConsumer,
  type RawSegment,
} from '../src/index.js';
import { busesClosedAfterEach, recordingLog, replicaOf, waitFor } from './helpers.js';

const segment = (from: number, chain = 'synthetic'): RawSegment => ({
  v: 1,
  chain,
  from,
  to: from,
  blocks: 1,
  rows: 10,
  bytes: 100,
  headHash: '0x01',
  location: 'grpc://127.0.0.1:50051',
  tickets: { raw: `${chain}:${from}` },
});

const { open, cleanups } = busesClosedAfterEach();

async function consume(
  bus: Bus,
  durable: string,
  handler: (m: RawSegment, d: Parameters<Parameters<typeof consumeDurable<RawSegment>>[1]['handler']>[1]) => Promise<void>,
  extra: { onInvalid?: (e: MessageError, raw: Uint8Array) => void; concurrency?: number; ackWaitMs?: number; chain?: string } = {},
): Promise<DurableConsumer> {
  const consumer = await consumeDurable(bus, {
    stream: bus.streams.raw,
    durable,
    filterSubject: bus.subjects.rawSegments(extra.chain ?? 'synthetic'),
    codec: RawSegmentMessage,
    service: durable,
    handler,
    onInvalid: extra.onInvalid,
    concurrency: extra.concurrency,
    ackWaitMs: extra.ackWaitMs,
  });
  cleanups.push(() => consumer.stop());
  return consumer;
}

describe('consumeDurable', () => {
  it('splits messages between replicas sharing a durable name: none twice, none lost', async () => {
    const bus = await open('split');
    const replica = await replicaOf(bus);
    cleanups.push(() => replica.drain());
    const seen = new Map<string, number[]>([['a', []], ['b', []]]);
    const handlerFor = (who: string) => async (m: RawSegment, d: { ack(): void }) => {
      await sleep(5);
      seen.get(who)!.push(m.from);
      d.ack();
    };
    await consume(bus, 'transformer', handlerFor('a'), { concurrency: 2 });
    await consume(replica, 'transformer', handlerFor('b'), { concurrency: 2 });
    const total = 60;
    for (let i = 0; i < total; i++) await publishDurable(bus, bus.subjects.rawSegments('synthetic'), RawSegmentMessage, segment(i));
    await waitFor(() => seen.get('a')!.length + seen.get('b')!.length >= total, 'all messages handled');
    await sleep(200);
    const all = [...seen.get('a')!, ...seen.get('b')!].sort((x, y) => x - y);
    expect(all).toEqual(Array.from({ length: total }, (_, i) => i));
    expect(seen.get('a')!.length).toBeGreaterThan(0);
    expect(seen.get('b')!.length).toBeGreaterThan(0);
  });

  it('dead-letters an undecodable message and goes on with the next ones', async () => {
    const bus = await open('dlq');
    const subject = bus.subjects.rawSegments('synthetic');
    await publishDurable(bus, subject, RawSegmentMessage, segment(1));
    const badPayload = new TextEncoder().encode(JSON.stringify({ ...segment(2), to: 0 }));
    await bus.js.publish(subject, badPayload);
    await bus.js.publish(subject, new TextEncoder().encode('not json'));
    await publishDurable(bus, subject, RawSegmentMessage, segment(3));
    const handled: number[] = [];
    const invalid: string[] = [];
    await consume(
      bus,
      'archiver',
      async (m, d) => {
        handled.push(m.from);
        d.ack();
      },
      { onInvalid: (e, raw) => invalid.push(`${e.message} | ${raw.length}`) },
    );
    await waitFor(() => handled.length === 2 && invalid.length === 2, 'valid messages handled and invalid ones reported');
    expect(handled).toEqual([1, 3]);
    expect(invalid[0]).toMatch(/from: must be ≤ to/);
    expect(invalid[1]).toMatch(/not JSON/);
    const deadLetters = await bus.jsm.streams.info(bus.streams.deadLetter);
    expect(deadLetters.state.messages).toBe(2);
    const first = await bus.jsm.streams.getMessage(bus.streams.deadLetter, { seq: deadLetters.state.first_seq });
    const letter = DeadLetterMessage.decode(first!.data);
    expect(letter).toMatchObject({ v: 1, service: 'archiver', subject });
    expect(letter.reason).toMatch(/from: must be ≤ to/);
    expect(Buffer.from(letter.data, 'base64')).toEqual(Buffer.from(badPayload));
    expect(first!.subject).toBe(bus.subjects.deadLetter('archiver'));
    await sleep(300);
    expect((await bus.jsm.consumers.info(bus.streams.raw, 'archiver')).num_ack_pending).toBe(0);
  });

  it('dead-letters a message the handler finds it can never process, and never redelivers it', async () => {
    const bus = await open('dlqhandler');
    const subject = bus.subjects.rawSegments('synthetic');
    await publishDurable(bus, subject, RawSegmentMessage, segment(7));
    const deliveries: number[] = [];
    await consume(bus, 'transformer', async (m, d) => {
      deliveries.push(m.from);
      await d.deadLetter('raw_transactions.value row 3: malformed hex quantity "0xzz"');
    });
    await waitFor(async () => (await bus.jsm.streams.info(bus.streams.deadLetter)).state.messages === 1, 'dead letter stored');
    const info = await bus.jsm.streams.info(bus.streams.deadLetter);
    const letter = DeadLetterMessage.decode((await bus.jsm.streams.getMessage(bus.streams.deadLetter, { seq: info.state.first_seq }))!.data);
    expect(letter).toMatchObject({ service: 'transformer', subject, reason: expect.stringMatching(/malformed hex/) });
    expect(RawSegmentMessage.decode(Buffer.from(letter.data, 'base64')).from).toBe(7);
    await sleep(1500);
    expect(deliveries).toEqual([7]);
    expect((await bus.jsm.consumers.info(bus.streams.raw, 'transformer')).num_ack_pending).toBe(0);
  });

  it('redelivers a nak’ed message', async () => {
    const bus = await open('nak');
    const deliveries: number[] = [];
    await consume(bus, 'nak', async (_m, d) => {
      deliveries.push(d.redeliveryCount);
      if (d.redeliveryCount === 0) d.nak();
      else d.ack();
    });
    const { seq } = await publishDurable(bus, bus.subjects.rawSegments('synthetic'), RawSegmentMessage, segment(7));
    await waitFor(() => deliveries.length === 2, 'the redelivery');
    expect(deliveries).toEqual([0, 1]);
    await waitFor(async () => (await consumerProgress(bus, bus.streams.raw, bus.subjects.rawSegments('synthetic')))[0]?.ackFloorSeq === seq, 'the ack');
  });

  it('redelivers after a handler throws, and logs the failure', async () => {
    const bus = await open('throw');
    const log = recordingLog();
    const logged = await replicaOf(bus, { log });
    cleanups.push(() => logged.drain());
    const deliveries: number[] = [];
    await consume(logged, 'thrower', async (_m, d) => {
      deliveries.push(d.redeliveryCount);
      if (d.redeliveryCount === 0) throw new Error('flight server unreachable');
      d.ack();
    });
    await publishDurable(bus, bus.subjects.rawSegments('synthetic'), RawSegmentMessage, segment(8));
    await waitFor(() => deliveries.length === 2, 'the redelivery');
    expect(deliveries).toEqual([0, 1]);
    expect(log.lines.find((l) => l.m === 'message handler failed; redelivering')?.o).toMatchObject({ err: 'flight server unreachable', delayMs: 1_000 });
  });

  it('runs up to `concurrency` handlers at once', async () => {
    const bus = await open('conc');
    let running = 0;
    let peak = 0;
    let done = 0;
    await consume(
      bus,
      'conc',
      async (_m, d) => {
        running++;
        peak = Math.max(peak, running);
        await sleep(100);
        running--;
        done++;
        d.ack();
      },
      { concurrency: 3 },
    );
    for (let i = 0; i < 9; i++) await publishDurable(bus, bus.subjects.rawSegments('synthetic'), RawSegmentMessage, segment(i));
    await waitFor(() => done === 9, 'all handled');
    expect(peak).toBe(3);
  });

  it('stop() waits for handlers in flight and fetches nothing more', async () => {
    const bus = await open('stop');
    let finished = 0;
    let started = 0;
    const consumer = await consume(bus, 'stopper', async (_m, d) => {
      started++;
      await sleep(300);
      finished++;
      d.ack();
    });
    await publishDurable(bus, bus.subjects.rawSegments('synthetic'), RawSegmentMessage, segment(1));
    await waitFor(() => started === 1, 'the handler to start');
    await consumer.stop();
    expect(finished).toBe(1);
    expect(consumer.running).toBe(false);
    await publishDurable(bus, bus.subjects.rawSegments('synthetic'), RawSegmentMessage, segment(2));
    await sleep(300);
    expect(started).toBe(1);
  });

  it('recreates its consumer when it is deleted underneath it', async () => {
    const bus = await open('recreate');
    const handled: number[] = [];
    await consume(bus, 'phoenix', async (m, d) => {
      handled.push(m.from);
      d.ack();
    });
    await publishDurable(bus, bus.subjects.rawSegments('synthetic'), RawSegmentMessage, segment(1));
    await waitFor(() => handled.includes(1), 'the first message');
    await bus.jsm.consumers.delete(bus.streams.raw, 'phoenix');
    await publishDurable(bus, bus.subjects.rawSegments('synthetic'), RawSegmentMessage, segment(2));
    await waitFor(() => handled.includes(2), 'the message after the consumer was deleted', 30_000);
    expect((await bus.jsm.consumers.info(bus.streams.raw, 'phoenix')).config.durable_name).toBe('phoenix');
  });
});

describe('consumeDurable setup', () => {
  it('says which consumer and stream failed when the stream is missing', async () => {
    const bus = await open('nostream');
    await expect(
      consumeDurable(bus, {
        stream: `${bus.streams.raw}_MISSING`,
        durable: 'lost',
        filterSubject: bus.subjects.rawSegments('synthetic'),
        codec: RawSegmentMessage,
        service: 'lost',
        handler: async () => {},
      }),
    ).rejects.toThrow(`cannot create consumer lost on stream ${bus.streams.raw}_MISSING: stream not found`);
  });
});

describe('consumerProgress', () => {
  it('reports the ack floor of every durable whose filter covers the subject', async () => {
    const bus = await open('progress');
    const subject = bus.subjects.rawSegments('synthetic');
    await consume(bus, 'acker', async (_m, d) => d.ack());
    const heldBack: number[] = [];
    await consume(bus, 'holder', async (m) => void heldBack.push(m.from), { ackWaitMs: 600_000 });
    await consume(bus, 'other_chain', async (_m, d) => d.ack(), { chain: 'eth' });
    await bus.jsm.consumers.add(bus.streams.raw, { durable_name: 'all_chains', ack_policy: 'explicit', filter_subject: `${bus.prefix}.*.raw.segments` });
    let last = 0;
    for (let i = 0; i < 3; i++) last = (await publishDurable(bus, subject, RawSegmentMessage, segment(i))).seq;
    await waitFor(async () => (await consumerProgress(bus, bus.streams.raw, subject)).find((p) => p.durable === 'acker')?.ackFloorSeq === last, 'acker to ack all');
    await waitFor(() => heldBack.length === 3, 'holder to receive all (unacked)');
    expect(await consumerProgress(bus, bus.streams.raw, subject)).toEqual([
      { durable: 'acker', ackFloorSeq: last },
      { durable: 'all_chains', ackFloorSeq: 0 },
      { durable: 'holder', ackFloorSeq: 0 },
    ]);
    expect((await consumerProgress(bus, bus.streams.raw, bus.subjects.rawSegments('eth'))).map((p) => p.durable)).toEqual([
      'all_chains',
      'other_chain',
    ]);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { freePort, testNatsUrl, uniquePrefix } from '@chainlake/testkit';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectBus, consumeDurable, deleteStreams, ensureStreams, publishDurable, RawSegmentMessage } from '../src/index.js';
import { NatsProxy, recordingLog, waitFor } from './helpers.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('connection loss', () => {
  it('keeps retrying the first connect until the server is there', async () => {
    const proxy = new NatsProxy(await freePort());
    cleanups.push(() => proxy.down());
    const log = recordingLog();
    const connecting = connectBus({ servers: proxy.url, prefix: uniquePrefix('first'), name: 'first', log });
    await waitFor(() => log.messages().filter((m) => m === 'nats connect failed, retrying').length >= 2, 'two failed attempts');
    await proxy.up();
    const bus = await connecting;
    cleanups.push(() => bus.drain());
    expect(bus.isConnected()).toBe(true);
    expect(log.messages()).toContain('nats connected');
  });

  it('gives up the first connect when its signal is aborted', async () => {
    const port = await freePort();
    const connecting = connectBus({ servers: `nats://127.0.0.1:${port}`, prefix: uniquePrefix('abort'), name: 'abort', signal: AbortSignal.timeout(500) });
    await expect(connecting).rejects.toThrow(/aborted|timeout/i);
  });

  it('reconnects and the durable consumer carries on', async () => {
    const proxy = new NatsProxy(await freePort());
    await proxy.up();
    cleanups.push(() => proxy.down());
    const log = recordingLog();
    const bus = await connectBus({ servers: proxy.url, prefix: uniquePrefix('reconn'), name: 'reconn', log });
    const direct = await connectBus({ servers: testNatsUrl(), prefix: bus.prefix, name: 'direct' });
    cleanups.push(async () => {
      await deleteStreams(direct);
      await direct.drain();
    });
    cleanups.push(() => bus.drain());
    await ensureStreams(direct);
    const handled: number[] = [];
    const consumer = await consumeDurable(bus, {
      stream: bus.streams.raw,
      durable: 'survivor',
      filterSubject: bus.subjects.rawSegments('synthetic'),
      codec: RawSegmentMessage,
      service: 'survivor',
      handler: async (m, d) => {
        handled.push(m.from);
        d.ack();
      },
    });
    cleanups.push(() => consumer.stop());
    const publish = (from: number) =>
      publishDurable(direct, direct.subjects.rawSegments('synthetic'), RawSegmentMessage, {
        v: 1, chain: 'synthetic', from, to: from, blocks: 1, rows: 1, bytes: 1, headHash: '0x1', location: 'grpc://127.0.0.1:1', tickets: {},
      });
    await publish(1);
    await waitFor(() => handled.includes(1), 'the first message');

    await proxy.down();
    await waitFor(() => !bus.isConnected(), 'the disconnect');
    await publish(2);
    await sleep(500);
    await proxy.up();
    await waitFor(() => bus.isConnected(), 'the reconnect');
    await publish(3);
    await waitFor(() => handled.includes(2) && handled.includes(3), 'messages published around the outage', 30_000);
    expect(consumer.running).toBe(true);
    expect(log.messages()).toEqual(expect.arrayContaining(['nats disconnected', 'nats reconnected']));
  });
});

import { readdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectBus, consumeDurable, deleteStreams, TypedSegmentMessage, type Bus } from '@chainlake/bus';
import { spawnService, tempDir, testNatsUrl, uniquePrefix, type ServiceProcess } from '@chainlake/testkit';

const SEGMENTS = 6;
const ACK_WAIT_MS = 1000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('transformer whose typed segments are not consumed yet', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let bus: Bus;
  let services: ServiceProcess[];

  beforeAll(async () => {
    dir = await tempDir('transformer-backpressure');
    const prefix = uniquePrefix('tfbp');
    bus = await connectBus({ servers: testNatsUrl(), prefix, name: 'transformer-backpressure-test' });
    const env = {
      CHAINLAKE_NATS_URL: testNatsUrl(), CHAINLAKE_PREFIX: prefix, CHAINLAKE_HTTP_PORT: '0', CHAINLAKE_FLIGHT_PORT: '0',
      CHAINLAKE_SYNTHETIC_TXS_PER_BLOCK: '100', CHAINLAKE_BACKFILL_FROM: '0', CHAINLAKE_BACKFILL_TO: String(SEGMENTS * 10 - 1),
      CHAINLAKE_SEGMENT_BLOCKS: '10', CHAINLAKE_ACK_WAIT_MS: String(ACK_WAIT_MS),
    };
    services = [
      spawnService('source', { ...env, CHAINLAKE_SPOOL_DIR: `${dir.path}/source` }),
      // A typed segment of 10 blocks is ~1.3 MB: a 2 MB spool holds one or two. More handlers than
      // segments leave a pull open that the server would answer with the waiting segments once
      // their ack wait ran out, were they not kept in progress.
      spawnService('transformer', {
        ...env, CHAINLAKE_SPOOL_DIR: `${dir.path}/transformer`, CHAINLAKE_SPOOL_MEMORY_MB: '2', CHAINLAKE_TRANSFORMER_CONCURRENCY: String(SEGMENTS + 2),
      }),
    ];
    await Promise.all(services.map((s) => s.httpPort()));
  });

  afterAll(async () => {
    await Promise.all(services.map((s) => s.stop()));
    await deleteStreams(bus);
    await bus.drain();
    await dir.remove();
  });

  const typedAnnounced = async () => (await bus.jsm.streams.info(bus.streams.typed)).state.messages;

  it('waits for spool room instead of spilling to disk, keeps its raw segments past the ack wait, and goes on once they are consumed', async () => {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && (await typedAnnounced()) === 0) await sleep(100);
    await sleep(4 * ACK_WAIT_MS);
    const announced = await typedAnnounced();
    expect(announced).toBeGreaterThan(0);
    expect(announced).toBeLessThan(SEGMENTS);
    expect(await readdir(`${dir.path}/transformer`)).toEqual([]);
    // Counts redelivered messages still pending: the waiting ones, were their ack wait not renewed.
    expect((await bus.jsm.consumers.info(bus.streams.raw, 'transformer')).num_redelivered).toBe(0);

    const seen: string[] = [];
    const reader = await consumeDurable(bus, {
      stream: bus.streams.typed,
      durable: 'reader',
      filterSubject: bus.subjects.typedSegments('synthetic'),
      codec: TypedSegmentMessage,
      service: 'test',
      handler: async (msg, delivery) => {
        seen.push(`${msg.from}-${msg.to}`);
        delivery.ack();
      },
    });
    try {
      while (Date.now() < deadline && seen.length < SEGMENTS) await sleep(100);
      await sleep(500);
    } finally {
      await reader.stop();
    }
    expect(seen.sort((a, b) => Number(a.split('-')[0]) - Number(b.split('-')[0]))).toEqual(
      Array.from({ length: SEGMENTS }, (_, i) => `${i * 10}-${i * 10 + 9}`),
    );
    expect(await readdir(`${dir.path}/transformer`)).toEqual([]);
    expect((await bus.jsm.consumers.info(bus.streams.raw, 'transformer')).num_ack_pending).toBe(0);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectBus, DeadLetterMessage, deleteStreams, ensureStreams, publishDurable, RawSegmentMessage, type Bus } from '@chainlake/bus';
import { rawTablesFromRpc, type RpcBlock } from '@chainlake/chain-evm';
import { FlightServer } from '@chainlake/flight';
import { segmentTickets, spoolFlightHandlers } from '@chainlake/segments';
import { Spool } from '@chainlake/spool';
import { spawnService, tempDir, testNatsUrl, uniquePrefix, type ServiceProcess } from '@chainlake/testkit';

const HASH = `0x${'ab'.repeat(32)}`;

describe('transformer given chain data it cannot decode', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let bus: Bus;
  let spool: Spool;
  let producer: FlightServer;
  let transformer: ServiceProcess;

  beforeAll(async () => {
    dir = await tempDir('tf-bad');
    bus = await connectBus({ servers: testNatsUrl(), prefix: uniquePrefix('tfbad'), name: 'bad-chain-test' });
    await ensureStreams(bus);
    spool = await Spool.open({ dir: `${dir.path}/spool`, memoryBytes: 1 << 20, maxBytes: 1 << 24 });
    producer = new FlightServer(spoolFlightHandlers(spool, 'test producer'), { port: 0 });
    await producer.start();
    transformer = spawnService('transformer', {
      CHAINLAKE_NATS_URL: testNatsUrl(), CHAINLAKE_PREFIX: bus.prefix, CHAINLAKE_HTTP_PORT: '0', CHAINLAKE_FLIGHT_PORT: '0',
      CHAINLAKE_SPOOL_DIR: `${dir.path}/transformer`,
    });
  });

  afterAll(async () => {
    await transformer.stop();
    await producer.stop(100);
    await spool.close();
    await deleteStreams(bus);
    await bus.drain();
    await dir.remove();
  });

  it('dead-letters the segment with the decoder’s reason, counts it, and does not retry it', async () => {
    const block: RpcBlock = {
      number: '0x5', hash: HASH, parentHash: HASH, timestamp: '0x65920080', miner: `0x${'11'.repeat(20)}`,
      gasUsed: '0xnothex', gasLimit: '0x1c9c380', extraData: '0x', baseFeePerGas: '0x7', transactions: [],
    };
    await spool.put('synthetic:5-5', rawTablesFromRpc([block], [[]]) as never);
    await publishDurable(bus, bus.subjects.rawSegments('synthetic'), RawSegmentMessage, {
      v: 1, chain: 'synthetic', from: 5, to: 5, blocks: 1, rows: 1, bytes: 100, headHash: HASH, location: producer.location,
      tickets: segmentTickets('synthetic:5-5', ['raw_blocks', 'raw_transactions', 'raw_logs']),
    });
    const port = await transformer.httpPort();
    const deadline = Date.now() + 20_000;
    let metrics = '';
    while (Date.now() < deadline && !/segments_dead_lettered_total 1/.test(metrics)) {
      metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(metrics).toMatch(/^chainlake_transformer_segments_dead_lettered_total 1$/m);
    const info = await bus.jsm.streams.info(bus.streams.deadLetter);
    expect(info.state.messages).toBe(1);
    const letter = DeadLetterMessage.decode((await bus.jsm.streams.getMessage(bus.streams.deadLetter, { seq: info.state.first_seq }))!.data);
    expect(letter.reason).toMatch(/synthetic:5-5: .*gasUsed.*0xnothex/);
    expect(metrics).toMatch(/^chainlake_transformer_segment_failures_total 0$/m);
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
  });
});

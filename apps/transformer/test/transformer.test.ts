import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectBus, deleteStreams, ReproduceReply, ReproduceRequest, request, TypedSegmentMessage, type Bus } from '@chainlake/bus';
import { decode } from '@chainlake/chain-evm';
import { SyntheticChain, syntheticOptionsFromEnv } from '@chainlake/chain-synthetic';
import { FlightClient } from '@chainlake/flight';
import { arrowSchema, dataset } from '@chainlake/schema';
import { spawnService, tempDir, testNatsUrl, uniquePrefix, type ServiceProcess } from '@chainlake/testkit';

describe('transformer service', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let bus: Bus;
  let env: Record<string, string>;
  let services: ServiceProcess[];

  beforeAll(async () => {
    dir = await tempDir('transformer');
    const prefix = uniquePrefix('tf');
    bus = await connectBus({ servers: testNatsUrl(), prefix, name: 'transformer-test' });
    env = {
      CHAINLAKE_NATS_URL: testNatsUrl(), CHAINLAKE_PREFIX: prefix, CHAINLAKE_HTTP_PORT: '0', CHAINLAKE_FLIGHT_PORT: '0',
      CHAINLAKE_CHAIN_ID: '1337', CHAINLAKE_SYNTHETIC_SEED: '3', CHAINLAKE_SYNTHETIC_TXS_PER_BLOCK: '30',
      CHAINLAKE_BACKFILL_FROM: '0', CHAINLAKE_BACKFILL_TO: '49', CHAINLAKE_SEGMENT_BLOCKS: '10',
    };
    services = ['source', 'transformer'].map((app) => spawnService(app, { ...env, CHAINLAKE_SPOOL_DIR: `${dir.path}/${app}` }));
    await Promise.all(services.map((s) => s.httpPort()));
  });

  afterAll(async () => {
    await Promise.all(services.map((s) => s.stop()));
    await deleteStreams(bus);
    await bus.drain();
    await dir.remove();
  });

  const expected = () => decode(new SyntheticChain(syntheticOptionsFromEnv(env)).rawSegment(0, 49), 1337);

  it('announces every raw segment as a typed segment whose datasets decode exactly', async () => {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && (await bus.jsm.streams.info(bus.streams.typed)).state.messages < 5) await new Promise((r) => setTimeout(r, 100));
    const info = await bus.jsm.streams.info(bus.streams.typed);
    expect(info.state.messages).toBe(5);
    const want = expected();
    const hashes = want.transactions.getChild('transaction_hash')!;
    const values = want.transactions.getChild('value')!;
    const wantValue = new Map<string, string>(Array.from({ length: want.transactions.numRows }, (_, i) => [hashes.get(i), values.get(i)]));
    const counts = { blocks: 0, transactions: 0, logs: 0 };
    for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
      const msg = TypedSegmentMessage.decode((await bus.jsm.streams.getMessage(bus.streams.typed, { seq }))!.data);
      const client = new FlightClient(msg.location);
      for (const name of ['blocks', 'transactions', 'logs'] as const) {
        const table = await client.doGetTable(msg.tickets[name]);
        expect(table.schema.fields.map((f) => `${f.name}:${f.type}`)).toEqual(arrowSchema(dataset(name)).fields.map((f) => `${f.name}:${f.type}`));
        expect(table.numRows).toBe(msg.datasets[name].rows);
        counts[name] += table.numRows;
        if (name === 'transactions') {
          for (let i = 0; i < table.numRows; i++) {
            expect(table.getChild('value')!.get(i)).toBe(wantValue.get(table.getChild('transaction_hash')!.get(i)));
          }
        }
      }
      client.close();
    }
    expect(counts).toEqual({ blocks: 50, transactions: want.transactions.numRows, logs: want.logs.numRows });
  });

  it('re-produces a typed segment on request, fetching the raw one again', async () => {
    const reply = await request(bus, bus.subjects.control('transformer', 'reproduce'), ReproduceRequest, ReproduceReply, { v: 1, chain: 'synthetic', from: 20, to: 24 }, 30_000);
    if (!reply.ok) throw new Error(reply.error);
    const client = new FlightClient(reply.location);
    const blocks = await client.doGetTable(reply.tickets.blocks);
    expect([...blocks.getChild('block_number')!].map(Number)).toEqual([20, 21, 22, 23, 24]);
    client.close();
  });
});

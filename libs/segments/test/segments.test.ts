import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tableFromArrays, type Table } from 'apache-arrow';
import { connectBus, consumeDurable, deleteStreams, ensureStreams, publishDurable, RawSegmentMessage, type Bus } from '@chainlake/bus';
import { FlightClient, FlightError, FlightServer } from '@chainlake/flight';
import { Spool } from '@chainlake/spool';
import { tempDir, testNatsUrl, uniquePrefix } from '@chainlake/testkit';
import { parseSegmentKey, parseSegmentTicket, segmentKey, segmentTickets, SegmentFetcher, spoolFlightHandlers, startSpoolReaper } from '../src/index.js';

const quietLog = { warn: () => undefined };
const rows = (n: number): Table => tableFromArrays({ block_number: BigInt64Array.from({ length: n }, (_, i) => BigInt(i)) });

function invalid(ticket: string): FlightError {
  try {
    parseSegmentTicket(Buffer.from(ticket));
  } catch (err) {
    return err as FlightError;
  }
  throw new Error(`ticket ${ticket} was accepted`);
}

describe('segment names and tickets', () => {
  it('round-trips keys and tickets', () => {
    const key = segmentKey({ chain: 'eth', from: 100, to: 199 });
    expect(key).toBe('eth:100-199');
    expect(parseSegmentKey(key)).toEqual({ chain: 'eth', from: 100, to: 199 });
    const tickets = segmentTickets(key, ['blocks', 'logs']);
    expect(parseSegmentTicket(Buffer.from(tickets.logs))).toEqual({ key, dataset: 'logs' });
  });

  it('rejects bad tickets with INVALID_ARGUMENT saying what is wrong', () => {
    expect(invalid('nope')).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/not JSON/) });
    expect(invalid('[1]')).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/"segment"/) });
    expect(invalid('{"segment":"eth:1-2"}')).toMatchObject({ message: expect.stringMatching(/"dataset"/) });
    expect(invalid('{"segment":"eth:5-2","dataset":"x"}')).toMatchObject({ message: expect.stringMatching(/invalid block range/) });
    expect(invalid('{"segment":"ETH 1..2","dataset":"x"}')).toMatchObject({ message: expect.stringMatching(/<chain>:<from>-<to>/) });
  });
});

describe('serving and fetching spooled segments', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let spool: Spool;
  let server: FlightServer;

  beforeAll(async () => {
    dir = await tempDir('segments');
    spool = await Spool.open({ dir: dir.path, memoryBytes: 1 << 20, maxBytes: 1 << 24 });
    server = new FlightServer(spoolFlightHandlers(spool, 'test'), { port: 0 });
    await server.start();
  });

  afterAll(async () => {
    await server.stop(100);
    await spool.close();
    await dir.remove();
  });

  it('fetches every dataset of a segment', async () => {
    await spool.put('eth:0-9', { a: rows(10), b: rows(3) });
    const fetcher = new SegmentFetcher();
    const tables = await fetcher.fetch({ location: server.location, tickets: segmentTickets('eth:0-9', ['a', 'b']) }, ['a', 'b'], () => {
      throw new Error('no re-production expected');
    });
    expect([tables.a.numRows, tables.b.numRows]).toEqual([10, 3]);
    fetcher.close();
  });

  it('asks for a re-production when the producer no longer has the segment, or is gone', async () => {
    const fetcher = new SegmentFetcher();
    const requested: string[] = [];
    const reproduce = async () => {
      requested.push('again');
      await spool.put('eth:10-19', { a: rows(7) });
      return { location: server.location, tickets: segmentTickets('eth:10-19', ['a']) };
    };
    const gone = await fetcher.fetch({ location: server.location, tickets: segmentTickets('eth:10-19', ['a']) }, ['a'], reproduce);
    expect(gone.a.numRows).toBe(7);
    const unreachable = await fetcher.fetch({ location: 'grpc://127.0.0.1:1', tickets: segmentTickets('eth:10-19', ['a']) }, ['a'], reproduce);
    expect(unreachable.a.numRows).toBe(7);
    expect(requested).toHaveLength(2);
    fetcher.close();
  });

  it('a failed dataset cancels the others: once the fetch fails nothing writes into its memory', async () => {
    await spool.put('eth:30-39', { big: rows(1_000_000) });
    const memory: Uint8Array[] = [];
    const allocate = (bytes: number): Uint8Array => {
      const view = new Uint8Array(bytes);
      memory.push(view);
      return view;
    };
    const fetcher = new SegmentFetcher();
    const fetching = fetcher.fetch({ location: server.location, tickets: segmentTickets('eth:30-39', ['big', 'zzz']) }, ['big', 'zzz'], () => {
      throw new Error('no re-production here');
    }, allocate);
    await expect(fetching).rejects.toThrow('no re-production here');
    for (const view of memory) view.fill(0xab);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(memory.every((view) => view.every((byte) => byte === 0xab))).toBe(true);
    const whole = await fetcher.fetch({ location: server.location, tickets: segmentTickets('eth:30-39', ['big']) }, ['big'], () => {
      throw new Error('no re-production expected');
    }, allocate);
    expect(whole.big.numRows).toBe(1_000_000);
    expect(memory.length).toBeGreaterThan(0);
    fetcher.close();
  });

  it('says which datasets a segment has when asked for another', async () => {
    await spool.put('eth:20-29', { a: rows(1) });
    const client = new FlightClient(server.location);
    await expect(client.doGetTable(segmentTickets('eth:20-29', ['zzz']).zzz)).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringContaining('segment eth:20-29 has no dataset "zzz" (has: a)'),
    });
    client.close();
  });
});

describe('spool reaper', () => {
  let bus: Bus;
  let dir: { path: string; remove: () => Promise<void> };

  beforeAll(async () => {
    bus = await connectBus({ servers: testNatsUrl(), prefix: uniquePrefix('reaper'), name: 'reaper-test' });
    await ensureStreams(bus);
    dir = await tempDir('reaper');
  });

  afterAll(async () => {
    await deleteStreams(bus);
    await bus.drain();
    await dir.remove();
  });

  it('frees a segment once every consumer acked its announcement, and only then', async () => {
    const subject = bus.subjects.rawSegments('eth');
    const spool = await Spool.open({ dir: dir.path, memoryBytes: 1 << 20, maxBytes: 1 << 24 });
    const reaper = startSpoolReaper(bus, spool, bus.streams.raw, subject, quietLog, 50);
    const announce = async (from: number, to: number) => {
      const key = segmentKey({ chain: 'eth', from, to });
      await spool.put(key, { a: rows(1) });
      const { seq } = await publishDurable(bus, subject, RawSegmentMessage, {
        v: 1, chain: 'eth', from, to, blocks: to - from + 1, rows: 1, bytes: 8, headHash: '0xab', location: 'grpc://127.0.0.1:1', tickets: {},
      });
      spool.markAnnounced(key, seq);
    };
    await announce(0, 9);
    await announce(10, 19);
    await new Promise((r) => setTimeout(r, 300));
    expect(spool.usage().segments).toBe(2); // no consumer yet: nothing is freed

    const consumer = await consumeDurable(bus, {
      stream: bus.streams.raw, durable: 'only-first', filterSubject: subject, codec: RawSegmentMessage, service: 'test',
      handler: async (msg, delivery) => {
        if (msg.from === 0) delivery.ack();
      },
    });
    const deadline = Date.now() + 10_000;
    while (spool.has('eth:0-9') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(spool.has('eth:0-9')).toBe(false);
    expect(spool.has('eth:10-19')).toBe(true);
    await consumer.stop();
    reaper.stop();
    await spool.close();
  });
});

describe('a producer that never answers', () => {
  it('counts as gone after the timeout, and the segment is re-produced', async () => {
    const dir = await tempDir('segments-slow');
    const spool = await Spool.open({ dir: dir.path, memoryBytes: 1 << 20, maxBytes: 1 << 24 });
    await spool.put('eth:0-9', { a: rows(10) });
    const stuck = new FlightServer({ doGet: () => new Promise(() => undefined) }, { port: 0 });
    const good = new FlightServer(spoolFlightHandlers(spool, 'test'), { port: 0 });
    await stuck.start();
    await good.start();
    const fetcher = new SegmentFetcher(300);
    const started = Date.now();
    const tables = await fetcher.fetch({ location: stuck.location, tickets: segmentTickets('eth:0-9', ['a']) }, ['a'], async () => ({
      location: good.location,
      tickets: segmentTickets('eth:0-9', ['a']),
    }));
    expect(tables.a.numRows).toBe(10);
    expect(Date.now() - started).toBeLessThan(5000);
    fetcher.close();
    await stuck.stop(0);
    await good.stop(0);
    await spool.close();
    await dir.remove();
  });
});

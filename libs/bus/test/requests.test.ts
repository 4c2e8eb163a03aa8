import { afterEach, describe, expect, it } from 'vitest';
import {
  MessageError,
  ReproduceReply,
  ReproduceRequest,
  request,
  serveRequests,
  type Bus,
  type RequestServer,
} from '../src/index.js';
import { replicaOf, testBus } from './helpers.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function serveReproduce(bus: Bus, who: string, served: string[], invalid: MessageError[] = []): RequestServer {
  const server = serveRequests(bus, bus.subjects.control('source', 'reproduce'), {
    queue: 'source',
    request: ReproduceRequest,
    reply: ReproduceReply,
    handler: async (req) => {
      served.push(who);
      if (req.from === 666) throw new Error('chain node unreachable');
      return { v: 1, ok: true, location: 'grpc://127.0.0.1:50051', tickets: { raw: `${req.chain}:${req.from}-${req.to}` } };
    },
    onInvalid: (e) => invalid.push(e),
    errorReply: (error) => ({ v: 1, ok: false, error }),
  });
  cleanups.push(() => server.stop());
  return server;
}

describe('serveRequests / request', () => {
  it('answers through a queue group: each request served by exactly one replica', async () => {
    const { bus, close } = await testBus('req');
    cleanups.push(close);
    const replica = await replicaOf(bus);
    cleanups.push(() => replica.drain());
    const served: string[] = [];
    serveReproduce(bus, 'a', served);
    serveReproduce(replica, 'b', served);
    await bus.nc.flush();
    await replica.nc.flush();
    const subject = bus.subjects.control('source', 'reproduce');
    for (let i = 0; i < 20; i++) {
      const reply = await request(bus, subject, ReproduceRequest, ReproduceReply, { v: 1, chain: 'synthetic', from: i, to: i + 9 });
      expect(reply).toEqual({ v: 1, ok: true, location: 'grpc://127.0.0.1:50051', tickets: { raw: `synthetic:${i}-${i + 9}` } });
    }
    expect(served).toHaveLength(20);
    expect(served).toContain('a');
    expect(served).toContain('b');
  });

  it('answers a bad request with errorReply saying what was wrong', async () => {
    const { bus, close } = await testBus('badreq');
    cleanups.push(close);
    const served: string[] = [];
    const invalid: MessageError[] = [];
    serveReproduce(bus, 'a', served, invalid);
    const subject = bus.subjects.control('source', 'reproduce');
    const msg = await bus.nc.request(subject, new TextEncoder().encode(JSON.stringify({ v: 1, chain: 'synthetic', from: 10, to: 1 })));
    expect(ReproduceReply.decode(msg.data)).toEqual({ v: 1, ok: false, error: 'invalid ReproduceRequest: from: must be ≤ to' });
    const garbage = await bus.nc.request(subject, new TextEncoder().encode('{{'));
    expect(ReproduceReply.decode(garbage.data)).toMatchObject({ ok: false, error: expect.stringMatching(/not JSON/) });
    expect(invalid).toHaveLength(2);
    expect(served).toEqual([]);
    const failed = await request(bus, subject, ReproduceRequest, ReproduceReply, { v: 1, chain: 'synthetic', from: 666, to: 667 });
    expect(failed).toEqual({ v: 1, ok: false, error: 'chain node unreachable' });
    const fine = await request(bus, subject, ReproduceRequest, ReproduceReply, { v: 1, chain: 'synthetic', from: 1, to: 2 });
    expect(fine.ok).toBe(true);
  });

  it('rejects naming the subject when nobody serves it, and after stop()', async () => {
    const { bus, close } = await testBus('noresp');
    cleanups.push(close);
    const subject = bus.subjects.control('source', 'reproduce');
    const ask = () => request(bus, subject, ReproduceRequest, ReproduceReply, { v: 1, chain: 'synthetic', from: 1, to: 2 }, 1_000);
    await expect(ask()).rejects.toThrow(`request to ${subject} failed`);
    const server = serveReproduce(bus, 'a', []);
    await bus.nc.flush();
    expect((await ask()).ok).toBe(true);
    await server.stop();
    await expect(ask()).rejects.toThrow(`request to ${subject} failed`);
  });
});

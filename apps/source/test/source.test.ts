import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connectBus, deleteStreams, RawSegmentMessage, ReproduceReply, ReproduceRequest, request, type Bus } from '@chainlake/bus';
import { FlightClient } from '@chainlake/flight';
import { spawnService, tempDir, testNatsUrl, uniquePrefix } from '@chainlake/testkit';

describe('source service', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let bus: Bus;
  let env: Record<string, string>;

  beforeEach(async () => {
    dir = await tempDir('source');
    const prefix = uniquePrefix('src');
    bus = await connectBus({ servers: testNatsUrl(), prefix, name: 'source-test' });
    env = {
      CHAINLAKE_NATS_URL: testNatsUrl(), CHAINLAKE_PREFIX: prefix, CHAINLAKE_HTTP_PORT: '0', CHAINLAKE_FLIGHT_PORT: '0',
      CHAINLAKE_SPOOL_DIR: dir.path, CHAINLAKE_SYNTHETIC_TXS_PER_BLOCK: '20',
      CHAINLAKE_BACKFILL_FROM: '0', CHAINLAKE_BACKFILL_TO: '599', CHAINLAKE_SEGMENT_BLOCKS: '3',
    };
  });

  afterEach(async () => {
    await deleteStreams(bus);
    await bus.drain();
    await dir.remove();
  });

  async function announcements(): Promise<Array<{ from: number; to: number }>> {
    const info = await bus.jsm.streams.info(bus.streams.raw);
    const out: Array<{ from: number; to: number }> = [];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
      const msg = await bus.jsm.streams.getMessage(bus.streams.raw, { seq });
      const { from, to } = RawSegmentMessage.decode(msg!.data);
      out.push({ from, to });
    }
    return out.sort((a, b) => a.from - b.from);
  }

  it('resumes from its checkpoint after a crash: every block announced, none twice', async () => {
    const first = spawnService('source', env);
    await first.waitForLog((l) => l.msg === 'source starting');
    await new Promise((r) => setTimeout(r, 150));
    first.kill('SIGKILL');
    await first.exited;

    const second = spawnService('source', env);
    const started = await second.waitForLog((l) => l.msg === 'source starting');
    expect(started.resumed).toBe(true);
    expect(Number(started.next)).toBeGreaterThan(0);
    await second.waitForLog((l) => l.msg === 'backfill complete');
    expect(await second.stop()).toEqual({ code: 0, signal: null });

    const ranges = await announcements();
    let next = 0;
    for (const r of ranges) {
      expect(r.from).toBe(next);
      next = r.to + 1;
    }
    expect(next).toBe(600);
  });

  it('re-produces a segment on request and refuses one above the head', async () => {
    const source = spawnService('source', { ...env, CHAINLAKE_BACKFILL_TO: '9' });
    await source.waitForLog((l) => l.msg === 'backfill complete');
    const subject = bus.subjects.control('source', 'reproduce');
    const reply = await request(bus, subject, ReproduceRequest, ReproduceReply, { v: 1, chain: 'synthetic', from: 100, to: 104 });
    if (!reply.ok) throw new Error(reply.error);
    const client = new FlightClient(reply.location);
    expect((await client.doGetTable(reply.tickets.raw_blocks)).numRows).toBe(5);
    client.close();
    const tooHigh = await request(bus, subject, ReproduceRequest, ReproduceReply, { v: 1, chain: 'synthetic', from: 0, to: 10 ** 12 });
    expect(tooHigh).toMatchObject({ ok: false, error: expect.stringMatching(/above the chain head/) });
    const tooMany = await request(bus, subject, ReproduceRequest, ReproduceReply, { v: 1, chain: 'synthetic', from: 0, to: 99_999 });
    expect(tooMany).toMatchObject({ ok: false, error: expect.stringMatching(/limited to 1000 blocks/) });
    const otherChain = await request(bus, subject, ReproduceRequest, ReproduceReply, { v: 1, chain: 'eth', from: 0, to: 1 });
    expect(otherChain).toMatchObject({ ok: false, error: expect.stringMatching(/serves chain "synthetic"/) });
    expect(await source.stop()).toEqual({ code: 0, signal: null });
  });

  it('stops producing when its spool is full and nobody consumes, and still shuts down cleanly', async () => {
    const source = spawnService('source', { ...env, CHAINLAKE_BACKFILL_TO: '99999', CHAINLAKE_SEGMENT_BLOCKS: '10', CHAINLAKE_SPOOL_MAX_MB: '1' });
    await source.waitForLog((l) => l.msg === 'source starting');
    await new Promise((r) => setTimeout(r, 1500));
    const announced = (await bus.jsm.streams.info(bus.streams.raw)).state.messages;
    await new Promise((r) => setTimeout(r, 500));
    expect((await bus.jsm.streams.info(bus.streams.raw)).state.messages).toBe(announced);
    expect(announced).toBeLessThan(20);
    const started = Date.now();
    expect(await source.stop()).toEqual({ code: 0, signal: null });
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectBus, deleteStreams, ensureStreams, WindowResultMessage, WindowUpdateMessage, type Bus, type MessageOf } from '@chainlake/bus';
import { spawnService, tempDir, testNatsUrl, uniquePrefix, type ServiceProcess } from '@chainlake/testkit';
import { gasTotals, TypedProducer } from './producer.js';

type Update = MessageOf<typeof WindowUpdateMessage>;
type Result = MessageOf<typeof WindowResultMessage>;

const GENESIS = Date.UTC(2024, 0, 1);
const definition = {
  name: 'gas_per_10s',
  dataset: 'transactions',
  window: { kind: 'tumbling', sizeMs: 10_000 },
  earlyResultsMs: 100,
  aggregates: [{ fn: 'count' }, { fn: 'sum', column: 'gas_used' }],
};

async function eventually(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('early results', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let bus: Bus;
  let producer: TypedProducer;
  let analytics: ServiceProcess;

  beforeAll(async () => {
    dir = await tempDir('analytics-early');
    bus = await connectBus({ servers: testNatsUrl(), prefix: uniquePrefix('aearly'), name: 'early-test' });
    await ensureStreams(bus);
    const env = { CHAINLAKE_SYNTHETIC_SEED: '5', CHAINLAKE_SYNTHETIC_TXS_PER_BLOCK: '20' };
    producer = new TypedProducer(bus, env);
    await producer.start();
    const file = join(dir.path, 'definitions.json');
    await writeFile(file, JSON.stringify([definition]));
    analytics = spawnService('analytics', {
      ...env, CHAINLAKE_NATS_URL: testNatsUrl(), CHAINLAKE_PREFIX: bus.prefix, CHAINLAKE_HTTP_PORT: '0', CHAINLAKE_FLIGHT_PORT: '0',
      CHAINLAKE_ANALYTICS_DEFINITIONS: file, CHAINLAKE_ANALYTICS_CHECKPOINT_INTERVAL_MS: '200',
    });
    await analytics.waitForLog((l) => String(l.msg).startsWith('leading'));
  });

  afterAll(async () => {
    await analytics.stop();
    await producer.stop();
    await deleteStreams(bus);
    await bus.drain();
    await dir.remove();
  });

  it('publishes the partial values of an open window at the interval; its result is the last update plus what came after', async () => {
    const seen: Array<{ update: Update } | { final: Result }> = [];
    const updates = bus.nc.subscribe(bus.subjects.analyticsUpdates(definition.name), {
      callback: (_err, msg) => void seen.push({ update: WindowUpdateMessage.decode(msg.data) }),
    });
    const finals = bus.nc.subscribe(bus.subjects.analytics(definition.name), {
      callback: (_err, msg) => void seen.push({ final: WindowResultMessage.decode(msg.data) }),
    });
    await bus.nc.flush();
    const updatesOf = (start: number) =>
      seen.flatMap((m) => ('update' in m && Date.parse(m.update.windowStart) === start ? [m.update] : []));

    // Window [0 s, 10 s) is blocks 0..9 (1 s blocks from genesis).
    const a = gasTotals(await producer.announce(0, 3));
    await eventually('an update with the rows of blocks 0..3', () => updatesOf(GENESIS).some((u) => u.rows === a.rows));
    const b = gasTotals(await producer.announce(4, 7));
    await eventually('an update with the rows of blocks 0..7', () => updatesOf(GENESIS).some((u) => u.rows === a.rows + b.rows));
    // Blocks 8..9 then 10..11 (which close the window) back to back: an update may or may not show 8..9 first.
    const c = gasTotals(await producer.announce(8, 9));
    const d = gasTotals(await producer.announce(10, 11));
    await eventually('the window result', () => seen.some((m) => 'final' in m));
    await eventually('an update of the next window', () => updatesOf(GENESIS + 10_000).length > 0);
    await new Promise((r) => setTimeout(r, 500));

    const finalAt = seen.findIndex((m) => 'final' in m);
    const final = (seen[finalAt] as { final: Result }).final;
    expect([final.windowStart, final.revision, final.rows]).toEqual([new Date(GENESIS).toISOString(), 1, a.rows + b.rows + c.rows]);
    expect(final.values).toEqual({ count: a.rows + b.rows + c.rows, sum_gas_used: a.gas + b.gas + c.gas });

    const before = updatesOf(GENESIS);
    expect(before.length).toBeGreaterThanOrEqual(2);
    // Every update of the window came before its result, marked early, with the window's bounds and no revision.
    expect(seen.slice(finalAt).some((m) => 'update' in m && Date.parse(m.update.windowStart) === GENESIS)).toBe(false);
    for (const u of before) {
      expect(u).toMatchObject({ early: true, windowEnd: new Date(GENESIS + 10_000).toISOString() });
      expect(u).not.toHaveProperty('revision');
      expect(u.values.count).toBe(u.rows);
    }
    expect(before.map((u) => u.rows)).toEqual([...before.map((u) => u.rows)].sort((x, y) => x - y));

    // The result is the last update plus the segments applied after it.
    const last = before[before.length - 1];
    const segments = [a, b, c];
    const included = [1, 2, 3].find((n) => segments.slice(0, n).reduce((s, x) => s + x.rows, 0) === last.rows);
    expect(included).toBeDefined();
    const after = segments.slice(included);
    expect(final.rows).toBe(last.rows + after.reduce((s, x) => s + x.rows, 0));
    expect(final.values.sum_gas_used).toBe((last.values.sum_gas_used as number) + after.reduce((s, x) => s + x.gas, 0));

    // The next window: one update with blocks 10..11, not repeated while nothing changes.
    expect(updatesOf(GENESIS + 10_000).map((u) => u.values)).toEqual([{ count: d.rows, sum_gas_used: d.gas }]);

    // Updates are core NATS only: the ANALYTICS stream, whose subjects are <prefix>.analytics.*, stored the result alone.
    const stream = await bus.jsm.streams.info(bus.streams.analytics);
    expect(stream.state.messages).toBe(1);
    const stored = await bus.jsm.streams.getMessage(bus.streams.analytics, { seq: stream.state.first_seq });
    expect(stored!.subject).toBe(bus.subjects.analytics(definition.name));
    updates.unsubscribe();
    finals.unsubscribe();
  });
});

import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Type } from 'apache-arrow';
import { connectBus, deleteStreams, WindowResultMessage, type Bus } from '@chainlake/bus';
import { decode } from '@chainlake/chain-evm';
import { SyntheticChain, syntheticOptionsFromEnv } from '@chainlake/chain-synthetic';
import { FlightClient, FlightError } from '@chainlake/flight';
import { spawnService, tempDir, testNatsUrl, uniquePrefix, type ServiceProcess } from '@chainlake/testkit';

const BLOCKS = 900; // 15 minutes of 1 s blocks
const SEGMENTS = BLOCKS / 25;
const definition = {
  name: 'tx_per_minute',
  dataset: 'transactions',
  window: { kind: 'tumbling', sizeMs: 60_000 },
  aggregates: [{ fn: 'count' }, { fn: 'sum', column: 'gas_used' }, { fn: 'sum', column: 'value' }],
};

/** Per minute of block time: [count, sum of gas_used, sum of value], straight from the generator. */
function bruteForce(env: Record<string, string>): Map<string, [number, bigint, bigint]> {
  const { transactions } = decode(new SyntheticChain(syntheticOptionsFromEnv(env)).rawSegment(0, BLOCKS - 1), 1337);
  const times = transactions.getChild('block_timestamp')!;
  if (times.type.typeId !== Type.Timestamp) throw new Error('block_timestamp is not a timestamp');
  const gas = transactions.getChild('gas_used')!;
  const value = transactions.getChild('value')!;
  const out = new Map<string, [number, bigint, bigint]>();
  let row = 0;
  for (const data of times.data) {
    for (let i = 0; i < data.length; i++, row++) {
      const ms = Number((data.values as BigInt64Array)[data.offset + i] / 1000n);
      const start = new Date(Math.floor(ms / 60_000) * 60_000).toISOString();
      const acc = out.get(start) ?? [0, 0n, 0n];
      out.set(start, [acc[0] + 1, acc[1] + BigInt(gas.get(row) as bigint), acc[2] + BigInt(value.get(row) as string)]);
    }
  }
  return out;
}

describe('analytics over the live pipeline', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let bus: Bus;
  let env: Record<string, string>;
  let procs: ServiceProcess[];

  beforeEach(async () => {
    dir = await tempDir('analytics');
    bus = await connectBus({ servers: testNatsUrl(), prefix: uniquePrefix('awin'), name: 'windows-test' });
    const file = join(dir.path, 'definitions.json');
    await writeFile(file, JSON.stringify([definition]));
    env = {
      CHAINLAKE_NATS_URL: testNatsUrl(), CHAINLAKE_PREFIX: bus.prefix, CHAINLAKE_HTTP_PORT: '0', CHAINLAKE_FLIGHT_PORT: '0',
      CHAINLAKE_SYNTHETIC_SEED: '11', CHAINLAKE_SYNTHETIC_TXS_PER_BLOCK: '20', CHAINLAKE_BACKFILL_FROM: '0', CHAINLAKE_BACKFILL_TO: String(BLOCKS - 1),
      CHAINLAKE_SEGMENT_BLOCKS: '25', CHAINLAKE_ANALYTICS_DEFINITIONS: file, CHAINLAKE_ANALYTICS_CHECKPOINT_INTERVAL_MS: '200', CHAINLAKE_ACK_WAIT_MS: '3000',
    };
    procs = [];
  });

  afterEach(async () => {
    await Promise.all(procs.map((p) => { p.kill('SIGKILL'); return p.exited; }));
    await deleteStreams(bus);
    await bus.drain();
    await dir.remove();
  });

  const start = (app: string): ServiceProcess => {
    const p = spawnService(app, { ...env, CHAINLAKE_SPOOL_DIR: join(dir.path, app) });
    procs.push(p);
    return p;
  };

  async function segmentsAggregated(analytics: ServiceProcess): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${await analytics.httpPort()}/metrics`)).text();
    return Number(/^chainlake_analytics_segments_aggregated_total (\d+)/m.exec(text)?.[1] ?? 0);
  }

  /** The last revision of every window published on the definition's subject (replayed from its stream). */
  async function publishedWindows(): Promise<Map<string, { values: Record<string, unknown>; rows: number; revision: number }>> {
    const info = await bus.jsm.streams.info(bus.streams.analytics);
    const out = new Map<string, { values: Record<string, unknown>; rows: number; revision: number }>();
    for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
      const r = WindowResultMessage.decode((await bus.jsm.streams.getMessage(bus.streams.analytics, { seq }))!.data);
      const seen = out.get(r.windowStart);
      if (seen && seen.revision === r.revision) throw new Error(`window ${r.windowStart} revision ${r.revision} published twice`);
      if (!seen || seen.revision < r.revision) out.set(r.windowStart, r);
    }
    return out;
  }

  function expectEqualToBruteForce(windows: Map<string, { values: Record<string, unknown>; rows: number }>): void {
    const want = bruteForce(env);
    // Blocks 0..899 span minutes 0..14; the watermark (block 899) has passed the end of minutes 0..13 only.
    expect(windows.size).toBe(14);
    for (const [startIso, got] of windows) {
      const [count, gas, value] = want.get(startIso)!;
      expect(got.values, startIso).toEqual({ count, sum_gas_used: Number(gas), sum_value: value.toString() });
      expect(got.rows).toBe(count);
    }
  }

  it('publishes every closed window with exactly the brute-force values, replayable from the stream', async () => {
    start('source');
    start('transformer');
    const analytics = start('analytics');
    const deadline = Date.now() + 60_000;
    while ((await segmentsAggregated(analytics)) < SEGMENTS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(await segmentsAggregated(analytics)).toBe(SEGMENTS);
    expectEqualToBruteForce(await publishedWindows());
    const current = (await (await fetch(`http://127.0.0.1:${await analytics.httpPort()}/results/tx_per_minute`)).json()) as { results: unknown[]; open: unknown[] };
    expect(current.results).toHaveLength(14);
    expect(current.open).toHaveLength(1);

    // The same results as Arrow over Flight.
    const flight = new FlightClient(String((await analytics.waitForLog((l) => l.msg === 'flight listening')).location));
    const table = await flight.doGetTable('{"analytics":"tx_per_minute"}');
    const want = bruteForce(env);
    expect(table.numRows).toBe(14);
    for (let i = 0; i < table.numRows; i++) {
      const [count, , value] = want.get(table.getChild('window_start')!.get(i) as string)!;
      expect(table.getChild('count')!.get(i)).toBe(count);
      expect(table.getChild('sum_value')!.get(i)).toBe(value.toString());
    }
    const refused = async (ticket: string) => flight.doGetTable(ticket).then(() => undefined, (err: FlightError) => err.code);
    expect(await refused('{"analytics":')).toBe('INVALID_ARGUMENT');
    expect(await refused('{"table":"x"}')).toBe('INVALID_ARGUMENT');
    expect(await refused('{"analytics":"nope"}')).toBe('NOT_FOUND');
    flight.close();
  });

  it('counts nothing twice when killed mid-stream and restarted', async () => {
    start('source');
    start('transformer');
    const first = start('analytics');
    const deadline = Date.now() + 60_000;
    while ((await segmentsAggregated(first)) < SEGMENTS / 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    first.kill('SIGKILL');
    await first.exited;
    const second = start('analytics');
    const done = async () => (await publishedWindows()).size === 14 && (await segmentsAggregated(second)) > 0;
    while (!(await done()) && Date.now() < deadline + 60_000) await new Promise((r) => setTimeout(r, 200));
    await new Promise((r) => setTimeout(r, 1000));
    expectEqualToBruteForce(await publishedWindows());
  });
});

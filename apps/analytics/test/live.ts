import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { afterEach, beforeEach, expect } from 'vitest';
import { Type } from 'apache-arrow';
import { connectBus, deleteStreams, WindowResultMessage, type Bus } from '@chainlake/bus';
import { decode } from '@chainlake/chain-evm';
import { SyntheticChain, syntheticOptionsFromEnv } from '@chainlake/chain-synthetic';
import { spawnService, tempDir, testNatsUrl, uniquePrefix, type ServiceProcess } from '@chainlake/testkit';

export const BLOCKS = 900; // 15 minutes of 1 s blocks
export const SEGMENTS = BLOCKS / 25;
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

type Published = Map<string, { values: Record<string, unknown>; rows: number; revision: number }>;

/**
 * Per test: a prefix, a folder, the definition tx_per_minute in a file, the environment for a
 * backfill of blocks 0..899 in segments of 25, and the processes started (killed afterwards).
 */
export function livePipeline(label: string) {
  let dir: { path: string; remove: () => Promise<void> };
  let bus: Bus;
  let env: Record<string, string>;
  let procs: ServiceProcess[];

  beforeEach(async () => {
    dir = await tempDir('analytics');
    bus = await connectBus({ servers: testNatsUrl(), prefix: uniquePrefix(label), name: `${label}-test` });
    const file = join(dir.path, 'definitions.json');
    await writeFile(file, JSON.stringify([definition]));
    env = {
      CHAINLAKE_NATS_URL: testNatsUrl(), CHAINLAKE_PREFIX: bus.prefix, CHAINLAKE_HTTP_PORT: '0', CHAINLAKE_FLIGHT_PORT: '0',
      CHAINLAKE_SYNTHETIC_SEED: '11', CHAINLAKE_SYNTHETIC_TXS_PER_BLOCK: '20', CHAINLAKE_BACKFILL_FROM: '0', CHAINLAKE_BACKFILL_TO: String(BLOCKS - 1),
      CHAINLAKE_SEGMENT_BLOCKS: '25', CHAINLAKE_ANALYTICS_DEFINITIONS: file, CHAINLAKE_ANALYTICS_CHECKPOINT_INTERVAL_MS: '200', CHAINLAKE_ACK_WAIT_MS: '3000',
      CHAINLAKE_ANALYTICS_LEASE_MS: '2000',
    };
    procs = [];
  });

  afterEach(async () => {
    await Promise.all(procs.map((p) => { p.kill('SIGKILL'); return p.exited; }));
    await deleteStreams(bus);
    await bus.drain();
    await dir.remove();
  });

  const metric = async (analytics: ServiceProcess, name: string): Promise<number> => {
    const text = await (await fetch(`http://127.0.0.1:${await analytics.httpPort()}/metrics`)).text();
    return Number(new RegExp(`^chainlake_analytics_${name} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
  };

  return {
    get bus(): Bus {
      return bus;
    },
    start(app: string): ServiceProcess {
      const p = spawnService(app, { ...env, CHAINLAKE_SPOOL_DIR: join(dir.path, app) });
      procs.push(p);
      return p;
    },
    metric,
    segmentsAggregated: (analytics: ServiceProcess) => metric(analytics, 'segments_aggregated_total'),

    /** The last revision of every window published on the definition's subject (replayed from its stream). */
    async publishedWindows(): Promise<Published> {
      const info = await bus.jsm.streams.info(bus.streams.analytics);
      const out: Published = new Map();
      for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
        const r = WindowResultMessage.decode((await bus.jsm.streams.getMessage(bus.streams.analytics, { seq }))!.data);
        const seen = out.get(r.windowStart);
        if (seen && seen.revision === r.revision) throw new Error(`window ${r.windowStart} revision ${r.revision} published twice`);
        if (!seen || seen.revision < r.revision) out.set(r.windowStart, r);
      }
      return out;
    },

    expectEqualToBruteForce(windows: Published): void {
      const want = bruteForce(env);
      // Blocks 0..899 span minutes 0..14; the watermark (block 899) has passed the end of minutes 0..13 only.
      expect(windows.size).toBe(14);
      for (const [startIso, got] of windows) {
        const [count, gas, value] = want.get(startIso)!;
        expect(got.values, startIso).toEqual({ count, sum_gas_used: Number(gas), sum_value: value.toString() });
        expect(got.rows).toBe(count);
      }
    },

    bruteForce: () => bruteForce(env),
  };
}

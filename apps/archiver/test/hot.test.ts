import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import type { Table } from 'apache-arrow';
import type { Stored } from '@chainlake/bus';
import { decode } from '@chainlake/chain-evm';
import { SyntheticChain } from '@chainlake/chain-synthetic';
import { HotStore } from '@chainlake/hot';
import { connectPostgres, type Pool } from '@chainlake/postgres';
import { evmDatasets } from '@chainlake/schema';
import { createMetrics, type Metrics } from '@chainlake/service';
import { testPgUrl, uniquePrefix } from '@chainlake/testkit';
import { FinalityView, ReorgedBlocks } from '../src/finality.js';
import { HotTier, type Piece } from '../src/hot.js';

const datasets = evmDatasets.map((d) => d.name);
/** A chain whose head is the clock in seconds: a reorg whenever the head reaches a multiple of 10 replaces 3 blocks. */
let head = 0;
const chain = new SyntheticChain({
  seed: 11, chainId: 1337, blockTimeMs: 1000, txsPerBlock: 4, logsPerTx: 1, finalityDepth: 20, genesisTimestampMs: 0,
  reorgEvery: 10, reorgDepth: 3, now: () => head * 1000 + 500,
});
const piece = (from: number, to: number): Piece => ({ from, to, tables: decode(chain.rawSegment(from, to), 1337) as unknown as Record<string, Table> });

const rowsText = (tables: Iterable<{ toArray(): unknown[] }>): string[] =>
  [...tables].flatMap((t) => t.toArray().map((row) => JSON.stringify(row, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))));

describe('HotTier against PostgreSQL', () => {
  let pool: Pool;
  let schema: string;
  let store: HotStore;
  let metrics: Metrics;
  let tier: HotTier;
  let finality: FinalityView;
  let reorged: ReorgedBlocks;
  const refetched: Array<[number, number]> = [];
  const announced: Stored[] = [];

  /** The hot tier holds exactly the chain's current blocks [from, to]. */
  const expectCanonical = async (from: number, to: number): Promise<void> => {
    const want = piece(from, to);
    for (const d of datasets) {
      const batches = [];
      for await (const batch of store.readRange(d, 0, 1e9)) batches.push(batch);
      expect(rowsText(batches), d).toEqual(rowsText([want.tables[d]]));
    }
  };
  const metric = async (name: string): Promise<string[]> => (await metrics.registry.metrics()).split('\n').filter((l) => l.startsWith(`chainlake_archiver_${name}`));

  beforeAll(async () => {
    schema = uniquePrefix('hottier');
    pool = await connectPostgres({ url: testPgUrl(), schema });
  });
  afterAll(async () => {
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pool.end();
  });
  beforeEach(async () => {
    store = new HotStore({ pool, schema, chain: `c${Math.random().toString(36).slice(2, 8)}` });
    await store.ensureTables(evmDatasets);
    metrics = createMetrics('archiver');
    finality = new FinalityView();
    reorged = new ReorgedBlocks();
    refetched.length = 0;
    announced.length = 0;
    tier = new HotTier({
      store, chain: 'synthetic', datasets, finality, reorged,
      refetch: async (from, to) => {
        refetched.push([from, to]);
        return [piece(from, to)];
      },
      announce: async (m) => void announced.push(m),
      ready: finality.known,
      ctx: { log: pino({ level: 'silent' }), metrics },
    });
  });

  it('a reorg deletes the hot rows above the fork point and takes the blocks as they are now', async () => {
    head = 108;
    await tier.write([piece(100, 104), piece(105, 108)]);
    expect(announced.filter((m) => m.dataset === 'blocks').map((m) => [m.tier, m.from, m.to, m.rows])).toEqual([['hot', 100, 104, 5], ['hot', 105, 108, 4]]);
    head = 110; // the reorg at 110 replaced 108-110: the hot block 108 is void
    await tier.reorg(107, 110);
    expect(refetched).toEqual([[108, 108]]);
    await expectCanonical(100, 108);
    // Handled late, after blocks above its head were written: those were produced after it and stay.
    head = 113;
    await tier.write([piece(109, 113)]);
    refetched.length = 0;
    await tier.reorg(107, 110);
    expect(refetched).toEqual([[108, 110]]);
    await expectCanonical(100, 113);
    expect(await metric('hot_rows_deleted_total')).toEqual([expect.stringMatching(/ [1-9]\d*$/)]);
  });

  it('a stale segment arriving after the fresh one breaks the parent-hash chain above it: the range is re-fetched', async () => {
    head = 119;
    const stale = piece(115, 119);
    head = 120; // replaces 118-120
    await tier.write([piece(100, 114), piece(115, 120)]);
    await tier.write([stale]);
    expect(refetched).toEqual([[115, 120]]);
    await expectCanonical(100, 120);
    expect(await metric('reorgs_total')).toEqual(['chainlake_archiver_reorgs_total{cause="parent_hash"} 1']);
  });

  it('a fresh block whose parent is not the hot block below it: the resync widens down to where the chains join', async () => {
    head = 129;
    await tier.write([piece(110, 129)]); // 128 and 129 will be replaced by the reorg at 130
    head = 131;
    await tier.write([piece(130, 131)]);
    expect(refetched).toEqual([[130, 131], [122, 129]]);
    await expectCanonical(110, 131);
  });

  it('routes by finality: blocks a known reorg replaced come from a re-production, the rest is split at the finalized height', async () => {
    head = 140;
    finality.observe(110);
    reorged.add(104, 106);
    const { cold, hot } = await tier.route([piece(100, 112)]);
    expect(refetched).toEqual([[105, 106]]);
    expect(cold.map((p) => [p.from, p.to])).toEqual([[100, 104], [107, 110], [105, 106]]);
    expect(hot.map((p) => [p.from, p.to])).toEqual([[111, 112]]);
    for (const p of [...cold, ...hot]) {
      const numbers = p.tables.transactions.getChild('block_number')!;
      for (let i = 0; i < p.tables.transactions.numRows; i++) expect(Number(numbers.get(i))).toBeGreaterThanOrEqual(p.from);
    }
  });

  it('refuses to route before the finalized height is known', async () => {
    await expect(tier.route([piece(100, 101)])).rejects.toThrow(/finalized height unknown/);
    const stop = new AbortController();
    stop.abort();
    expect(await tier.waitUntilReady(stop.signal)).toBe(false);
    finality.observe(5);
    await finality.known;
    expect(await tier.waitUntilReady(stop.signal)).toBe(true); // the last flush at shutdown still runs
  });
});

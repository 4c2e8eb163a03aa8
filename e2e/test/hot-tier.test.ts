import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Table } from 'apache-arrow';
import { DuckDBInstance } from '@duckdb/node-api';
import { connectBus, deleteStreams, StoredMessage, type Bus, type Stored } from '@chainlake/bus';
import { SyntheticChain, syntheticOptionsFromEnv } from '@chainlake/chain-synthetic';
import { HotStore } from '@chainlake/hot';
import { connectPostgres, type Pool } from '@chainlake/postgres';
import { arrowSchema, evmDatasets } from '@chainlake/schema';
import { tempDir, testNatsUrl, uniquePrefix, type ServiceProcess } from '@chainlake/testkit';
import { dropMeshSchema, expectedChecksums, expectedTables, lakeChecksums, meshEnv, metric, printLogsOnFailure, startMesh } from './pipeline.js';

const BLOCK_MS = 200;
const FINALITY_DEPTH = 15;
const REORG_EVERY = 10;
const REORG_DEPTH = 3;
/** The head when the test starts; the source begins with final history below it and follows the tip up to LAST. */
const START_HEAD = 1000;
const FIRST = START_HEAD - 40;
const LAST = START_HEAD + 85;

/** Sorted, merged ranges of a set of block numbers. */
function runs(blocks: Iterable<number>): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const b of [...blocks].sort((x, y) => x - y)) {
    const last = out[out.length - 1];
    if (last && b === last[1] + 1) last[1] = b;
    else out.push([b, b]);
  }
  return out;
}


describe('hot tier: following a reorging tip with finality', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let prefix: string;
  let env: Record<string, string>;
  let bus: Bus;
  let pool: Pool;
  const procs: ServiceProcess[] = [];

  beforeAll(async () => {
    dir = await tempDir('e2e-hot');
    prefix = uniquePrefix('hot');
    env = meshEnv(prefix, dir.path, {
      CHAINLAKE_SYNTHETIC_BLOCK_TIME_MS: String(BLOCK_MS),
      CHAINLAKE_SYNTHETIC_GENESIS_MS: String(Date.now() - START_HEAD * BLOCK_MS),
      CHAINLAKE_SYNTHETIC_FINALITY_DEPTH: String(FINALITY_DEPTH),
      CHAINLAKE_SYNTHETIC_REORG_EVERY: String(REORG_EVERY),
      CHAINLAKE_SYNTHETIC_REORG_DEPTH: String(REORG_DEPTH),
      CHAINLAKE_BACKFILL_FROM: String(FIRST),
      CHAINLAKE_BACKFILL_TO: String(LAST),
      CHAINLAKE_SEGMENT_BLOCKS: '10',
      CHAINLAKE_SEGMENT_INTERVAL_MS: '200',
      CHAINLAKE_POLL_INTERVAL_MS: '50',
      CHAINLAKE_ARCHIVER_FLUSH_INTERVAL_MS: '200',
      CHAINLAKE_ACK_WAIT_MS: '15000',
    });
    bus = await connectBus({ servers: testNatsUrl(), prefix, name: 'hot-tier-test' });
    pool = await connectPostgres({ url: env.CHAINLAKE_POSTGRES_URL, schema: env.CHAINLAKE_POSTGRES_SCHEMA });
  });

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await pool?.end();
    await deleteStreams(bus);
    await bus.drain();
    await dropMeshSchema(env);
    await dir.remove();
  });

  it('ends with Parquet plus the hot tables holding exactly the canonical chain, and no block in Parquet that was not final', async () => {
    const chain = new SyntheticChain(syntheticOptionsFromEnv(env));
    // Every cold write is checked against the chain's finalized height when it is announced.
    const coldTooEarly: string[] = [];
    const stored: Stored[] = [];
    bus.nc.subscribe(bus.subjects.stored('synthetic'), {
      callback: (_err, msg) => {
        const message = StoredMessage.decode(msg.data);
        stored.push(message);
        if (message.tier === 'cold' && message.to > chain.finalized()) coldTooEarly.push(`${message.dataset} ${message.from}-${message.to} at finalized ${chain.finalized()}`);
      },
    });

    // The archiver starts late, once blocks that a reorg replaced are final: the segments still carrying the
    // replaced blocks must not reach Parquet.
    const producers = startMesh(env, dir.path, ['source', 'transformer']);
    procs.push(...Object.values(producers));
    printLogsOnFailure(producers);
    const firstReorg = await producers.source.waitForLog((l) => l.msg === 'reorg detected: re-producing the blocks above the fork point', 25_000);
    const replacedUpTo = Number(firstReorg.forkPoint) + REORG_DEPTH;
    while (chain.finalized() <= replacedUpTo) await sleep(BLOCK_MS);
    const { archiver } = startMesh(env, dir.path, ['archiver']);
    procs.push(archiver);
    printLogsOnFailure({ archiver });

    // Blocks up to LAST stop changing once the head passes LAST + REORG_DEPTH; then the mesh must converge.
    while (chain.head() < LAST + REORG_DEPTH) await sleep(BLOCK_MS);
    const store = new HotStore({ pool, schema: env.CHAINLAKE_POSTGRES_SCHEMA, chain: 'synthetic' });
    await store.ensureTables(evmDatasets);
    const db = await DuckDBInstance.create(':memory:');
    const duck = await db.connect();

    const snapshot = async () => {
      const parquet = join(env.CHAINLAKE_WAREHOUSE, 'synthetic', 'blocks', 'data', '**', '*.parquet');
      const coldBlocks = new Set(
        (await duck.runAndReadAll(`SELECT DISTINCT block_number FROM read_parquet('${parquet}')`).then((r) => r.getRows(), () => []))
          .map((row) => Number(row[0])),
      );
      const hotTables: Record<string, Table> = {};
      for (const def of evmDatasets) {
        const batches = [];
        for await (const batch of store.readRange(def.name, 0, 2 ** 40)) batches.push(batch);
        hotTables[def.name] = new Table(arrowSchema(def), batches);
      }
      const hotNumbers = hotTables.blocks.getChild('block_number')!;
      const hotBlocks = new Set(Array.from({ length: hotTables.blocks.numRows }, (_, i) => Number(hotNumbers.get(i))));
      const cold = coldBlocks.size > 0 ? await lakeChecksums(env.CHAINLAKE_WAREHOUSE, 'synthetic') : undefined;
      const missing = Array.from({ length: LAST - FIRST + 1 }, (_, i) => FIRST + i).filter((b) => !coldBlocks.has(b) && !hotBlocks.has(b));
      return { coldBlocks, hotBlocks, cold, hot: expectedChecksums(hotTables), missing };
    };
    /** The generator's rows of exactly these blocks (generated per run, not sliced: pipeline's checksums read unsliced buffers). */
    const wanted = (blocks: Set<number>) => {
      const parts = runs(blocks).map(([start, end]) => expectedTables(env, start, end));
      return expectedChecksums(Object.fromEntries(evmDatasets.map((d) => [d.name, new Table(arrowSchema(d), parts.flatMap((p) => p[d.name].batches))])));
    };
    const converged = (s: Awaited<ReturnType<typeof snapshot>>): boolean => {
      const cold = wanted(s.coldBlocks);
      return s.missing.length === 0 && s.cold !== undefined &&
        evmDatasets.every((d) => s.cold![d.name].md5 === cold[d.name].md5 && s.hot[d.name].md5 === wanted(s.hotBlocks)[d.name].md5);
    };

    let state = await snapshot();
    const deadline = Date.now() + 30_000;
    while (!converged(state) && Date.now() < deadline) {
      await sleep(500);
      state = await snapshot();
    }
    duck.closeSync();
    db.closeSync();

    expect(state.missing, 'blocks in neither tier').toEqual([]);
    // Cold: only final, canonical blocks, each row once.
    const cold = wanted(state.coldBlocks);
    for (const def of evmDatasets) {
      expect(state.cold![def.name], `Parquet ${def.name}`).toEqual({ rows: cold[def.name].rows, distinctKeys: cold[def.name].rows, md5: cold[def.name].md5 });
    }
    expect(coldTooEarly).toEqual([]);
    // Hot: the canonical rows of every block it holds (the tip, never compacted here).
    expect(state.hot).toEqual(wanted(state.hotBlocks));
    expect(state.hotBlocks.size).toBeGreaterThan(0);
    expect(state.coldBlocks.has(FIRST)).toBe(true);

    // Stored announcements cover both tiers; the guard re-fetched replaced blocks; reorg events reached the hot tier.
    expect(stored.some((m) => m.tier === 'hot')).toBe(true);
    expect(stored.filter((m) => m.tier === 'cold').every((m) => (m.files?.length ?? 0) > 0)).toBe(true);
    const port = await archiver.httpPort();
    expect(await metric(port, 'chainlake_archiver_refetched_blocks_total{reason="reorged"}')).toBeGreaterThan(0);
    expect(await metric(port, 'chainlake_archiver_reorgs_total{cause="event"}')).toBeGreaterThan(0);
    expect((await archiver.stop()).code).toBe(0);
  }, 90_000);
});

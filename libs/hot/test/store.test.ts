import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Table } from 'apache-arrow';
import { decode } from '@chainlake/chain-evm';
import { SyntheticChain } from '@chainlake/chain-synthetic';
import { connectPostgres, type Pool } from '@chainlake/postgres';
import { blocks, evmDatasets, logs, RowError, transactions } from '@chainlake/schema';
import { testPgUrl, uniquePrefix } from '@chainlake/testkit';
import { HotStore, hotTableName } from '../src/index.js';
import { batchOf, canonicalRows, collect, type Cell } from './helpers.js';

const UINT256_MAX = '115792089237316195423570985008687907853269984665640564039457584007913129639935';
const HASH = `0x${'ab'.repeat(32)}`;
const ADDRESS = `0x${'cd'.repeat(20)}`;

function tx(block: number, index: number, overrides: Record<string, Cell> = {}): Record<string, Cell> {
  return {
    block_number: BigInt(block), block_timestamp: 1_704_067_200_000_000n + BigInt(block) * 1_000_000n, transaction_index: index,
    transaction_hash: HASH, nonce: 7n, from_address: ADDRESS, to_address: ADDRESS, value: '1000000000000000000', input: '0x',
    gas_limit: 21_000n, gas_used: 21_000n, gas_price: '30000000000', transaction_type: 2, max_priority_fee_per_gas: '1',
    max_fee_per_gas: '2', success: true, chain_id: 1337n, ...overrides,
  };
}

/** Synthetic chain rows for [from, to], decoded: realistic values of every dataset. */
function chainTables(from: number, to: number): Record<string, Table> {
  const chain = new SyntheticChain({
    seed: 3, chainId: 1337, blockTimeMs: 1000, txsPerBlock: 20, logsPerTx: 2, finalityDepth: 10, genesisTimestampMs: 0, now: () => 1e12,
  });
  return decode(chain.rawSegment(from, to), 1337) as unknown as Record<string, Table>;
}

describe('HotStore', () => {
  let pool: Pool;
  let schema: string;
  let store: HotStore;

  beforeAll(async () => {
    schema = uniquePrefix('hot');
    pool = await connectPostgres({ url: testPgUrl(), schema });
    store = new HotStore({ pool, schema, chain: 'synthetic' });
    // Twice at once: replicas start together.
    await Promise.all([store.ensureTables(evmDatasets), new HotStore({ pool, schema, chain: 'synthetic' }).ensureTables(evmDatasets)]);
  });

  afterAll(async () => {
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pool.end();
  });

  it('round-trips every column type exactly: uint256 max, zero, nulls, empty and long hex, timestamps before 2000 and far ahead', async () => {
    const rows = [
      tx(500, 0, { value: UINT256_MAX, gas_price: '0', max_priority_fee_per_gas: null, max_fee_per_gas: null, to_address: null, success: false }),
      tx(500, 1, { input: `0x${'5a'.repeat(50_000)}`, block_timestamp: 0n, nonce: 9_007_199_254_740_993n, transaction_type: 0 }),
      tx(501, 0, { block_timestamp: -86_400_000_001n, gas_limit: 2n ** 63n - 1n, value: '10000000000000000000000000000000000000000', transaction_type: 2_147_483_647 }),
      tx(501, 1, { block_timestamp: 4_102_444_800_123_456n, value: '9999', gas_price: '100000000' }),
    ];
    const written = await store.writeRange('transactions', 500, 501, [batchOf(transactions, rows)]);
    expect(written).toBe(4);
    const back = await collect(store.readRange('transactions', 500, 501));
    expect(canonicalRows(back, transactions)).toEqual(canonicalRows([batchOf(transactions, rows)], transactions));
    expect(back[0].schema.fields.map((f) => `${f.name}:${f.type}`)).toEqual(
      batchOf(transactions, rows).schema.fields.map((f) => `${f.name}:${f.type}`),
    );
    // What PostgreSQL itself sees: exact numerics and instants.
    const table = `"${schema}"."${hotTableName('synthetic', 'transactions')}"`;
    const { rows: seen } = await pool.query(
      `SELECT value::text AS v, to_char(block_timestamp AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS t, max_fee_per_gas IS NULL AS n
       FROM ${table} ORDER BY block_number, transaction_index`,
    );
    expect(seen.map((r) => [r.v, r.t, r.n])).toEqual([
      [UINT256_MAX, '2024-01-01 00:08:20.000000', true],
      ['1000000000000000000', '1970-01-01 00:00:00.000000', false],
      ['10000000000000000000000000000000000000000', '1969-12-30 23:59:59.999999', false],
      ['9999', '2100-01-01 00:00:00.123456', false],
    ]);
  });

  it('round-trips decoded synthetic blocks, transactions and logs, and reads them back in batches', async () => {
    const tables = chainTables(1000, 1049);
    for (const def of evmDatasets) {
      expect(await store.writeRange(def.name, 1000, 1049, tables[def.name])).toBe(tables[def.name].numRows);
      const batches = await collect(store.readRange(def.name, 1000, 1049, 97));
      expect(batches.every((b) => b.numRows <= 97)).toBe(true);
      expect(batches.slice(0, -1).every((b) => b.numRows === 97)).toBe(true);
      expect(canonicalRows(batches, def)).toEqual(canonicalRows(tables[def.name], def));
    }
    expect(await store.heights('logs')).toEqual({ min: 1000, max: 1049 });
    const links = await store.blockLinks(1010, 1011);
    expect(links.get(1011)!.parentHash).toBe(links.get(1010)!.hash);
    expect(links.get(1010)!.hash).toBe(String(tables.blocks.getChild('block_hash')!.get(10)));
  });

  it('writes sliced Arrow data (non-zero offsets, nulls and booleans past the first byte) exactly', async () => {
    const rows = Array.from({ length: 21 }, (_, i) => tx(800 + Math.floor(i / 3), i % 3, {
      success: i % 2 === 0, to_address: i % 4 === 0 ? null : ADDRESS, value: String(10n ** BigInt(i)), block_timestamp: 1_704_067_200_000_000n + BigInt(i),
    }));
    const batch = batchOf(transactions, rows).slice(5, 17);
    expect(await store.writeRange('transactions', 801, 805, [batch])).toBe(12);
    const back = await collect(store.readRange('transactions', 801, 805));
    expect(canonicalRows(back, transactions)).toEqual(canonicalRows([batchOf(transactions, rows.slice(5, 17))], transactions));
    const tables = chainTables(900, 919);
    for (const def of evmDatasets) {
      const numbers = tables[def.name].getChild('block_number')!;
      const start = Array.from({ length: tables[def.name].numRows }, (_, i) => Number(numbers.get(i))).indexOf(905);
      const slice = tables[def.name].slice(start);
      await store.writeRange(def.name, 905, 919, slice);
      expect(canonicalRows(await collect(store.readRange(def.name, 905, 919)), def)).toEqual(canonicalRows(slice, def));
    }
  });

  it('is idempotent by block range: a re-write replaces, never adds', async () => {
    const first = [tx(600, 0), tx(600, 1), tx(601, 0)];
    await store.writeRange('transactions', 600, 601, [batchOf(transactions, first)]);
    await store.writeRange('transactions', 600, 601, [batchOf(transactions, first)]);
    expect(canonicalRows(await collect(store.readRange('transactions', 600, 601)), transactions)).toHaveLength(3);
    // The new version of the range has fewer rows: the old ones must be gone, the neighbours untouched.
    await store.writeRange('transactions', 602, 602, [batchOf(transactions, [tx(602, 0)])]);
    await store.writeRange('transactions', 600, 601, [batchOf(transactions, [tx(601, 0, { nonce: 99n })])]);
    const back = canonicalRows(await collect(store.readRange('transactions', 600, 602)), transactions);
    expect(back).toEqual(canonicalRows([batchOf(transactions, [tx(601, 0, { nonce: 99n }), tx(602, 0)])], transactions));
    // An empty write clears its range.
    await store.writeRange('transactions', 600, 601, []);
    expect(await store.heights('transactions').then((h) => h?.min)).not.toBe(600);
    expect(canonicalRows(await collect(store.readRange('transactions', 600, 601)), transactions)).toEqual([]);
  });

  it('deleteAbove removes every dataset above the fork point in one go; deleteRange a range of one', async () => {
    const tables = chainTables(2000, 2009);
    for (const def of evmDatasets) await store.writeRange(def.name, 2000, 2009, tables[def.name]);
    const rowsIn = async (from: number, to: number): Promise<number> => {
      let n = 0;
      for (const d of evmDatasets) for (const b of await collect(store.readRange(d.name, from, to))) n += b.numRows;
      return n;
    };
    const [rows2006to2007, rows2008, rows2009] = [await rowsIn(2006, 2007), await rowsIn(2008, 2008), await rowsIn(2009, 2009)];
    // With an upper bound (a reorg's head): only (forkPoint, through] goes.
    expect(await store.deleteAbove(2007, 2008)).toEqual({ rows: rows2008, maxBlock: 2008 });
    expect([...(await store.blockLinks(2000, 2009)).keys()].sort()).toEqual([2000, 2001, 2002, 2003, 2004, 2005, 2006, 2007, 2009]);
    expect(await store.deleteAbove(2005)).toEqual({ rows: rows2006to2007 + rows2009, maxBlock: 2009 });
    for (const def of evmDatasets) expect((await store.heights(def.name))!.max).toBeLessThanOrEqual(2005);
    expect(await store.deleteAbove(2005)).toEqual({ rows: 0, maxBlock: undefined });
    expect(await store.deleteRange('blocks', 2000, 2002)).toBe(3);
    expect([...(await store.blockLinks(2000, 2009)).keys()].sort()).toEqual([2003, 2004, 2005]);
  });

  it('reads a snapshot as it was when opened, whatever is written or deleted meanwhile', async () => {
    const tables = chainTables(9800, 9804);
    await store.writeRange('transactions', 9800, 9804, tables.transactions);
    const snapshot = await store.snapshot();
    try {
      await store.deleteRange('transactions', 9800, 9802);
      await store.writeRange('transactions', 9805, 9806, chainTables(9805, 9806).transactions);
      const seen = await collect(snapshot.readRange('transactions', 9800, 9806));
      expect(canonicalRows(seen, transactions)).toEqual(canonicalRows(tables.transactions.batches, transactions));
      // Stopping a snapshot read early breaks nothing either.
      for await (const _batch of snapshot.readRange('transactions', 9800, 9806, 1)) break;
    } finally {
      await snapshot.release();
      await snapshot.release();
    }
    const now = await collect(store.readRange('transactions', 9800, 9806));
    expect(new Set(now.flatMap((b) => [...b.getChild('block_number')!].map(Number)))).toEqual(new Set([9803, 9804, 9805, 9806]));
  });

  it('stops early without harm: the connection is discarded, the pool still works', async () => {
    const tables = chainTables(3000, 3019);
    await store.writeRange('logs', 3000, 3019, tables.logs);
    for await (const batch of store.readRange('logs', 3000, 3019, 5)) {
      expect(batch.numRows).toBe(5);
      break;
    }
    expect((await collect(store.readRange('logs', 3000, 3019, 5))).reduce((s, b) => s + b.numRows, 0)).toBe(tables.logs.numRows);
  });

  describe('bad rows: a clear error and nothing half-written', () => {
    const existing = [tx(700, 0), tx(700, 1)];
    beforeAll(() => store.writeRange('transactions', 700, 701, [batchOf(transactions, existing)]));
    const unchanged = async (): Promise<void> => {
      expect(canonicalRows(await collect(store.readRange('transactions', 700, 701)), transactions)).toEqual(canonicalRows([batchOf(transactions, existing)], transactions));
    };

    it.each([
      ['a malformed uint256', { value: '12a4' }, /transactions\.value: "12a4" is not a decimal integer/],
      ['a negative uint256', { gas_price: '-5' }, /transactions\.gas_price: "-5" is not a decimal integer/],
      ['a uint256 of 79 digits', { value: '1'.repeat(79) }, /has 79 digits; a uint256 has at most 78/],
      ['an empty uint256', { value: '' }, /transactions\.value: "" is not a decimal integer/],
      ['a null in a NOT NULL column', { from_address: null }, /transactions\.from_address: null in a NOT NULL column/],
    ])('%s', async (_what, overrides, message) => {
      const rows = [tx(700, 0), tx(701, 0), tx(701, 1, overrides)];
      const error = await store.writeRange('transactions', 700, 701, [batchOf(transactions, rows)]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RowError);
      expect((error as RowError).message).toMatch(message);
      expect((error as RowError).row).toBe(2);
      await unchanged();
    });

    it('a row outside the written range', async () => {
      await expect(store.writeRange('transactions', 700, 701, [batchOf(transactions, [tx(700, 0), tx(702, 0)])])).rejects.toThrow(
        /block 702 is outside the written range \[700, 701\]/,
      );
      await unchanged();
    });

    it('a duplicate key, refused by PostgreSQL, names the table and the constraint', async () => {
      await expect(store.writeRange('transactions', 700, 701, [batchOf(transactions, [tx(700, 0), tx(700, 0)])])).rejects.toThrow(
        /hot tier: writing transactions blocks 700-701 failed: duplicate key value violates unique constraint.*COPY hot_synthetic_transactions/s,
      );
      await unchanged();
    });

    it('invalid UTF-8 in a text column', async () => {
      const batch = batchOf(transactions, [tx(700, 0, { input: 'ab' })]);
      const bytes = batch.getChild('input')!.data[0].values as Uint8Array;
      bytes[0] = 0xff;
      await expect(store.writeRange('transactions', 700, 701, [batch])).rejects.toThrow(/invalid byte sequence for encoding "UTF8"/);
      await unchanged();
    });

    it('wrong column types, unknown datasets and inverted ranges', async () => {
      await expect(store.writeRange('transactions', 700, 701, [batchOf(blocks, [])])).rejects.toThrow(/transactions: the rows have no column block_timestamp/);
      await expect(store.writeRange('nope', 1, 2, [])).rejects.toThrow(/no table for dataset "nope"/);
      await expect(store.writeRange('transactions', 9, 1, [])).rejects.toThrow(/invalid block range \[9, 1\]/);
      await expect(collect(store.readRange('logs', 2, 1))).rejects.toThrow(/invalid block range/);
      await unchanged();
    });
  });

  it('refuses a hot table whose columns differ from the dataset', async () => {
    const other = new HotStore({ pool, schema, chain: 'other' });
    await pool.query(`CREATE TABLE "${schema}"."${hotTableName('other', 'logs')}" (block_number bigint)`);
    await expect(other.ensureTables([logs])).rejects.toThrow(/has columns \(block_number\); dataset logs needs \(block_number, block_timestamp/);
  });
});

import { describe, it, expect } from 'vitest';
import type { Table } from 'apache-arrow';
import { decode, rawDatasetNames, type RawTables } from '@chainlake/chain-evm';
import { SyntheticChain, type SyntheticChainOptions } from '../src/index.js';

const GENESIS = Date.UTC(2024, 0, 1);

function chainAt(head: number, options: Partial<SyntheticChainOptions> = {}) {
  const clock = { now: GENESIS + head * 1000 };
  const chain = new SyntheticChain({
    seed: 7,
    chainId: 1337,
    blockTimeMs: 1000,
    txsPerBlock: 10,
    logsPerTx: 2,
    finalityDepth: 8,
    genesisTimestampMs: GENESIS,
    now: () => clock.now,
    ...options,
  });
  return { chain, setHead: (h: number) => (clock.now = GENESIS + h * 1000) };
}

/** Every column of a table as plain values (topics as string arrays). */
function columns(table: Table): Record<string, unknown[]> {
  return Object.fromEntries(
    table.schema.fields.map((f) => [
      f.name,
      table.getChild(f.name)!.toArray().map((v: unknown) =>
        v !== null && typeof v === 'object' ? [...(v as { toArray(): string[] }).toArray()] : v,
      ),
    ]),
  );
}

function concatenated(parts: RawTables[]): Record<string, Record<string, unknown[]>> {
  return Object.fromEntries(
    rawDatasetNames.map((name) => {
      const merged: Record<string, unknown[]> = {};
      for (const part of parts) {
        for (const [column, values] of Object.entries(columns(part[name]))) (merged[column] ??= []).push(...values);
      }
      return [name, merged];
    }),
  );
}

const hashes = (raw: RawTables) => raw.raw_blocks.getChild('hash')!.toArray() as string[];

describe('SyntheticChain determinism', () => {
  it('generates the same data for the same range whatever the chunking and order', () => {
    const { chain } = chainAt(5000);
    const whole = concatenated([chain.rawSegment(0, 999)]);
    const second = chain.rawSegment(500, 999);
    const first = chain.rawSegment(0, 499);
    expect(concatenated([first, second])).toEqual(whole);
    expect(whole.raw_transactions.hash.length).toBeGreaterThan(5000);
    expect(whole.raw_logs.topics.length).toBeGreaterThan(5000);
  });

  it('generates each block alone exactly as within a longer segment', () => {
    // Single-block segments overflow the writers' presized buffers, so regrowth is exercised too.
    const { chain } = chainAt(500, { txsPerBlock: 50 });
    const whole = concatenated([chain.rawSegment(0, 99)]);
    const alone = concatenated(Array.from({ length: 100 }, (_, n) => chain.rawSegment(n, n)));
    expect(alone).toEqual(whole);
  });

  it('leaves the tables it returned untouched when generating more', () => {
    const { chain } = chainAt(500);
    const first = chain.rawSegment(0, 99);
    const before = concatenated([first]);
    chain.rawSegment(100, 199);
    chain.rawSegment(0, 99);
    expect(concatenated([first])).toEqual(before);
  });

  it('leases segments in reused memory that generate exactly what fresh memory does', () => {
    const { chain } = chainAt(2000, { txsPerBlock: 30 });
    const big = chain.leaseRawSegment(0, 399);
    expect(concatenated([big.tables])).toEqual(concatenated([chain.rawSegment(0, 399)]));
    expect(big.tables.raw_transactions.getChild('to')!.nullCount).toBeGreaterThan(0);
    big.release();
    // The next lease reuses the released writers: smaller, with other nulls, and none left over.
    const small = chain.leaseRawSegment(1000, 1009);
    const smallBefore = concatenated([small.tables]);
    expect(smallBefore).toEqual(concatenated([chain.rawSegment(1000, 1009)]));
    // A lease held while another is generated is not written over.
    const other = chain.leaseRawSegment(500, 599);
    expect(concatenated([other.tables])).toEqual(concatenated([chain.rawSegment(500, 599)]));
    expect(concatenated([small.tables])).toEqual(smallBefore);
    small.release();
    other.release();
    expect(concatenated([chain.leaseRawSegment(7, 7).tables])).toEqual(concatenated([chain.rawSegment(7, 7)]));
  });

  it('is the same chain in another instance with the same seed, another chain with another seed', () => {
    const a = chainAt(100).chain.rawSegment(40, 60);
    const b = chainAt(100).chain.rawSegment(40, 60);
    const c = chainAt(100, { seed: 8 }).chain.rawSegment(40, 60);
    expect(concatenated([b])).toEqual(concatenated([a]));
    expect(hashes(c)).not.toEqual(hashes(a));
  });

  it('links every block to its parent, and block 0 to the zero hash', () => {
    const { chain } = chainAt(300);
    const raw = chain.rawSegment(0, 300);
    const hash = hashes(raw);
    const parent = raw.raw_blocks.getChild('parentHash')!.toArray() as string[];
    expect(parent[0]).toBe(`0x${'0'.repeat(64)}`);
    for (let n = 1; n <= 300; n++) expect(parent[n]).toBe(hash[n - 1]);
    expect(new Set(hash).size).toBe(301);
    expect(hash.every((h) => /^0x[0-9a-f]{64}$/.test(h))).toBe(true);
    expect(chain.blockHash(123)).toBe(hash[123]);
  });
});

describe('SyntheticChain head and finality', () => {
  it('advances the head with the clock', () => {
    let now = 1000;
    const chain = new SyntheticChain({
      seed: 1, chainId: 1, blockTimeMs: 100, txsPerBlock: 1, logsPerTx: 1, finalityDepth: 3, genesisTimestampMs: 1000,
      now: () => now,
    });
    now = 999;
    expect([chain.head(), chain.finalized()]).toEqual([-1, -1]);
    now = 1000;
    expect([chain.head(), chain.finalized()]).toEqual([0, -1]);
    now = 1099;
    expect(chain.head()).toBe(0);
    now = 1100 + 499;
    expect([chain.head(), chain.finalized()]).toEqual([5, 2]);
    expect(() => chain.rawSegment(0, 6)).toThrow('block 6 is above the head 5');
    expect(() => chain.rawSegment(3, 2)).toThrow('invalid block range [3, 2]');
    expect(() => chain.blockHash(6)).toThrow(/above the head/);
    expect(chain.rawSegment(5, 5).raw_blocks.getChild('timestamp')!.get(0)).toBe('0x1');
  });

  it('rejects invalid options, naming the option', () => {
    expect(() => chainAt(0, { blockTimeMs: 0 })).toThrow('synthetic chain option blockTimeMs must be an integer >= 1, got 0');
    expect(() => chainAt(0, { txsPerBlock: -1 })).toThrow(/txsPerBlock must be a number >= 0/);
    expect(() => chainAt(0, { chainId: 1.5 })).toThrow(/chainId/);
  });

  it('stamps blocks with genesis + n × block time, in seconds', () => {
    const { chain } = chainAt(10);
    const stamps = chain.rawSegment(0, 10).raw_blocks.getChild('timestamp')!.toArray() as string[];
    expect(stamps.map((s) => Number(s))).toEqual(Array.from({ length: 11 }, (_, n) => GENESIS / 1000 + n));
  });
});

describe('SyntheticChain reorgs', () => {
  const reorgs = { reorgEvery: 10, reorgDepth: 3, finalityDepth: 5, txsPerBlock: 2 };

  it('replaces blocks (k - depth, k] when the head reaches k, keeping the fork point canonical', () => {
    const { chain, setHead } = chainAt(9, reorgs);
    const beforeRaw = chain.rawSegment(0, 9);
    const before = hashes(beforeRaw);
    setHead(10);
    const after = chain.rawSegment(0, 10);
    const afterHashes = hashes(after);
    expect(afterHashes.slice(0, 8)).toEqual(before.slice(0, 8));
    expect(afterHashes[8]).not.toBe(before[8]);
    expect(afterHashes[9]).not.toBe(before[9]);
    const parent = after.raw_blocks.getChild('parentHash')!.toArray() as string[];
    expect(parent[8]).toBe(before[7]);
    expect(parent[9]).toBe(afterHashes[8]);
    const txHashes = (raw: RawTables, n: number) =>
      (raw.raw_transactions.getChild('hash')!.toArray() as string[]).filter(
        (_, i) => raw.raw_transactions.getChild('blockNumber')!.get(i) === `0x${n.toString(16)}`,
      );
    expect(txHashes(after, 9)).not.toEqual(txHashes(beforeRaw, 9));
    expect(txHashes(after, 7)).toEqual(txHashes(beforeRaw, 7));
    setHead(9);
    expect(hashes(chain.rawSegment(0, 9))).toEqual(before);
  });

  it('never changes a finalized block', () => {
    const { chain, setHead } = chainAt(0, reorgs);
    const seen = new Map<number, string>();
    let changed = 0;
    for (let head = 0; head <= 120; head++) {
      setHead(head);
      const current = hashes(chain.rawSegment(0, head));
      for (const [n, hash] of seen) expect(current[n], `block ${n} at head ${head}`).toBe(hash);
      for (let n = 0; n <= chain.finalized(); n++) seen.set(n, current[n]);
      if (head > 0) {
        setHead(head - 1);
        const previous = hashes(chain.rawSegment(0, head - 1));
        changed += previous.filter((h, n) => h !== current[n]).length;
        setHead(head);
      }
    }
    expect(changed).toBe(12 * 2);
  });

  it('reports the fork point of every reorg an observer lived through', () => {
    const { chain, setHead } = chainAt(0, { reorgEvery: 7, reorgDepth: 4, finalityDepth: 6, txsPerBlock: 1 });
    for (let since = 0; since <= 40; since++) {
      setHead(since);
      const seen = hashes(chain.rawSegment(0, since));
      for (let head = since; head <= since + 20; head++) {
        setHead(head);
        const now = hashes(chain.rawSegment(0, since));
        const firstChanged = seen.findIndex((h, n) => h !== now[n]);
        expect(chain.forkPoint(since), `since ${since}, head ${head}`).toBe(firstChanged < 0 ? undefined : firstChanged - 1);
      }
    }
  });

  it('reports no fork point without reorgs', () => {
    const { chain } = chainAt(100);
    expect(chain.forkPoint(50)).toBeUndefined();
  });

  it('rejects reorgs as deep as finality', () => {
    expect(() => chainAt(0, { reorgEvery: 10, reorgDepth: 5, finalityDepth: 5 })).toThrow(
      /reorgDepth \(5\) must be below finalityDepth \(5\)/,
    );
  });
});

describe('SyntheticChain content', () => {
  const { chain } = chainAt(400, { txsPerBlock: 50 });
  const raw = chain.rawSegment(0, 399);
  const typed = decode(raw, 1337);
  const tx = typed.transactions;

  it('decodes into the typed datasets', () => {
    expect(typed.blocks.numRows).toBe(400);
    expect(tx.numRows).toBe(raw.raw_transactions.numRows);
    expect(typed.logs.numRows).toBe(raw.raw_logs.numRows);
  });

  it('has about txsPerBlock transactions per block and logsPerTx logs per transaction', () => {
    expect(tx.numRows / 400).toBeGreaterThan(45);
    expect(tx.numRows / 400).toBeLessThan(55);
    expect(typed.logs.numRows / tx.numRows).toBeGreaterThan(1.7);
    expect(typed.logs.numRows / tx.numRows).toBeLessThan(2.3);
    const perBlock = new Map<bigint, number>();
    for (const n of tx.getChild('block_number')!.toArray() as BigInt64Array) perBlock.set(n, (perBlock.get(n) ?? 0) + 1);
    expect(Math.min(...perBlock.values())).toBeGreaterThanOrEqual(25);
    expect(Math.max(...perBlock.values())).toBeLessThanOrEqual(75);
  });

  it('spreads values over many magnitudes, including above 2^64', () => {
    const values = (tx.getChild('value')!.toArray() as string[]).map(BigInt);
    const above64 = values.filter((v) => v > 2n ** 64n).length;
    expect(above64 / values.length).toBeGreaterThan(0.05);
    expect(values.filter((v) => v === 0n).length / values.length).toBeGreaterThan(0.2);
    const magnitudes = new Set(values.filter((v) => v > 0n).map((v) => v.toString().length));
    expect(magnitudes.size).toBeGreaterThan(20);
  });

  it('mixes contract creations, failures and transaction types', () => {
    const to = tx.getChild('to_address')!.toArray() as (string | null)[];
    const creations = to.filter((t) => t === null).length / to.length;
    expect(creations).toBeGreaterThan(0.005);
    expect(creations).toBeLessThan(0.04);
    const success = [...tx.getChild('success')!];
    const failed = success.filter((s) => !s).length / success.length;
    expect(failed).toBeGreaterThan(0.015);
    expect(failed).toBeLessThan(0.05);
    expect(new Set(tx.getChild('transaction_type')!.toArray())).toEqual(new Set([0, 1, 2]));
    const maxFee = [...tx.getChild('max_fee_per_gas')!];
    const types = [...tx.getChild('transaction_type')!];
    expect(types.every((t, i) => (t === 2) === (maxFee[i] !== null))).toBe(true);
  });

  it('draws addresses from pools so that grouping is meaningful', () => {
    const from = tx.getChild('from_address')!.toArray() as string[];
    const senders = new Set(from);
    expect(senders.size).toBeGreaterThan(1000);
    expect(senders.size).toBeLessThanOrEqual(10_000);
    const emitters = new Set(typed.logs.getChild('address')!.toArray() as string[]);
    expect(emitters.size).toBeGreaterThan(100);
    expect(emitters.size).toBeLessThanOrEqual(300);
  });

  it('writes every column in its RPC hex form', () => {
    const hash = /^0x[0-9a-f]{64}$/;
    const address = /^0x[0-9a-f]{40}$/;
    const quantity = /^0x(0|[1-9a-f][0-9a-f]*)$/;
    const forms: Record<string, Record<string, RegExp>> = {
      raw_blocks: {
        number: quantity, hash, parentHash: hash, timestamp: quantity, miner: address, gasUsed: quantity, gasLimit: quantity,
        extraData: /^0x[0-9a-f]{16}$/, baseFeePerGas: quantity,
      },
      raw_transactions: {
        blockNumber: quantity, transactionIndex: quantity, hash, nonce: quantity, from: address, to: address, value: quantity,
        input: /^0x([0-9a-f]{2})*$/, gas: quantity, gasPrice: quantity, type: /^0x[012]$/, maxPriorityFeePerGas: quantity,
        maxFeePerGas: quantity, gasUsed: quantity, status: /^0x[01]$/,
      },
      raw_logs: {
        blockNumber: quantity, transactionIndex: quantity, logIndex: quantity, transactionHash: hash, address,
        data: /^0x([0-9a-f]{64})*$/, topics: hash,
      },
    };
    const all = concatenated([raw]);
    for (const [dataset, columns] of Object.entries(forms)) {
      expect(Object.keys(all[dataset]).sort()).toEqual(Object.keys(columns).sort());
      for (const [column, form] of Object.entries(columns)) {
        const values = all[dataset][column].flat().filter((v) => v !== null);
        expect(values.length, `${dataset}.${column}`).toBeGreaterThan(0);
        const wrong = values.filter((v) => typeof v !== 'string' || !form.test(v));
        expect(wrong.slice(0, 3), `${dataset}.${column}`).toEqual([]);
      }
    }
    // Transfers, calls with a selector and 0 to 4 argument words, creations with 100 to 499 bytes of code.
    const inputLengths = new Set((all.raw_transactions.input as string[]).map((v) => v.length));
    for (const length of [2, 10, 74, 138, 202, 266]) expect(inputLengths).toContain(length);
    expect(Math.max(...inputLengths)).toBeGreaterThan(900);
    expect(Math.max(...inputLengths)).toBeLessThanOrEqual(1000);
  });

  it('repeats each transaction\'s hash, block and index in its logs, in order', () => {
    const t = columns(raw.raw_transactions);
    const l = columns(raw.raw_logs);
    const txAt = new Map(t.hash.map((h, i) => [h, i]));
    const logTx = l.transactionHash.map((h) => txAt.get(h as string) ?? -1);
    expect(logTx.every((i, j) => i >= 0 && i >= (logTx[j - 1] ?? 0))).toBe(true);
    expect(logTx.every((i, j) => l.blockNumber[j] === t.blockNumber[i] && l.transactionIndex[j] === t.transactionIndex[i])).toBe(true);
    expect(new Set(logTx).size).toBeGreaterThan(1000);
  });

  it('emits logs with 1 to 4 topics', () => {
    const counts = new Set<number>();
    const topics = [0, 1, 2, 3].map((t) => [...typed.logs.getChild(`topic${t}`)!]);
    for (let i = 0; i < typed.logs.numRows; i++) counts.add(topics.filter((column) => column[i] !== null).length);
    expect(counts).toEqual(new Set([1, 2, 3, 4]));
  });
});

/**
 * decode on generated segments (random hex, any case, any number of topics, nulls) against values
 * computed directly from the RPC objects, and on the same columns laid out differently in memory:
 * value bytes at any alignment, bytes before the first and after the last value, batches sliced
 * to a non-zero offset, null rows that hold bytes.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { Data, List, makeData, RecordBatch, Struct, Table, Type, Utf8 } from 'apache-arrow';
import { RowError } from '@chainlake/schema';
import { decode, rawTablesFromRpc, type Allocate, type RawTables, type RpcBlock, type RpcReceipt, type RpcTransaction } from '../src/index.js';

const rows = (table: Table) => table.toArray().map((r) => r.toJSON());

/** Hex text of `bytes`: lower case, upper case, or mixed. */
const hexText = ([bytes, casing]: [Uint8Array, number]) => {
  const digits = Buffer.from(bytes).toString('hex');
  if (casing === 1) return `0x${digits.toUpperCase()}`;
  if (casing === 2) return `0x${[...digits].map((c, i) => (i % 3 === 0 ? c.toUpperCase() : c)).join('')}`;
  return `0x${digits}`;
};
const hexArb = (min: number, max = min) =>
  fc.tuple(fc.uint8Array({ minLength: min, maxLength: max }), fc.constantFrom(0, 0, 0, 1, 2)).map(hexText);
const quantityArb = (max: bigint) =>
  fc.oneof(fc.bigInt({ min: 0n, max: 1000n }), fc.bigInt({ min: 0n, max })).map((v) => `0x${v.toString(16)}`);
const INT63 = 2n ** 63n - 1n;
const UINT256 = 2n ** 256n - 1n;

interface Generated {
  tx: Omit<RpcTransaction, 'blockNumber' | 'transactionIndex'>;
  gasUsed: string;
  status: string;
  logs: { address: string; topics: string[]; data: string }[];
}

const txArb: fc.Arbitrary<Generated> = fc.record({
  tx: fc.record({
    hash: hexArb(32),
    nonce: quantityArb(INT63),
    from: hexArb(20),
    to: fc.option(hexArb(20), { nil: null, freq: 4 }),
    value: quantityArb(UINT256),
    input: hexArb(0, 70),
    gas: quantityArb(INT63),
    gasPrice: quantityArb(UINT256),
    type: fc.option(fc.constantFrom('0x0', '0x2'), { nil: undefined }),
    maxPriorityFeePerGas: fc.option(quantityArb(UINT256), { nil: undefined }),
    maxFeePerGas: fc.option(quantityArb(UINT256), { nil: undefined }),
  }),
  gasUsed: quantityArb(INT63),
  status: fc.constantFrom('0x0', '0x1'),
  logs: fc.array(fc.record({ address: hexArb(20), topics: fc.array(hexArb(32), { maxLength: 4 }), data: hexArb(0, 70) }), {
    maxLength: 3,
  }),
});

const segmentArb = fc
  .array(
    fc.record({
      hash: hexArb(32),
      parentHash: hexArb(32),
      miner: hexArb(20),
      extraData: hexArb(0, 32),
      baseFeePerGas: fc.option(quantityArb(UINT256), { nil: undefined }),
      txs: fc.array(txArb, { maxLength: 12 }),
    }),
    { minLength: 1, maxLength: 3 },
  )
  .map((generated) => {
    const blocks: RpcBlock[] = [];
    const receipts: RpcReceipt[][] = [];
    for (const [n, g] of generated.entries()) {
      const number = `0x${(100 + n).toString(16)}`;
      const transactions: RpcTransaction[] = g.txs.map((t, i) => ({ ...t.tx, blockNumber: number, transactionIndex: `0x${i.toString(16)}` }));
      let logIndex = 0;
      receipts.push(
        g.txs.map((t, i) => ({
          transactionHash: t.tx.hash,
          transactionIndex: `0x${i.toString(16)}`,
          blockNumber: number,
          gasUsed: t.gasUsed,
          status: t.status,
          logs: t.logs.map((l) => ({
            ...l,
            blockNumber: number,
            transactionHash: t.tx.hash,
            transactionIndex: `0x${i.toString(16)}`,
            logIndex: `0x${(logIndex++).toString(16)}`,
          })),
        })),
      );
      const { hash, parentHash, miner, extraData, baseFeePerGas } = g;
      blocks.push({ number, hash, parentHash, timestamp: `0x${(1_700_000_000 + 12 * n).toString(16)}`, miner, gasUsed: '0x0', gasLimit: '0x1c9c380', extraData, baseFeePerGas, transactions });
    }
    return { blocks, receipts };
  });

const lower = (text: string | null | undefined) => (text == null ? null : text.toLowerCase());
const decimal = (text: string | undefined) => (text === undefined ? null : BigInt(text).toString());

/** The typed rows, computed from the RPC objects without the decoder. */
function expectedRows({ blocks, receipts }: { blocks: RpcBlock[]; receipts: RpcReceipt[][] }) {
  const txs = blocks.flatMap((b, n) =>
    (b.transactions as RpcTransaction[]).map((tx, i) => ({
      transaction_hash: lower(tx.hash),
      from_address: lower(tx.from),
      to_address: lower(tx.to),
      input: lower(tx.input),
      nonce: BigInt(tx.nonce),
      value: decimal(tx.value),
      gas_limit: BigInt(tx.gas),
      gas_price: decimal(tx.gasPrice),
      transaction_type: tx.type === undefined ? 0 : Number(tx.type),
      max_fee_per_gas: decimal(tx.maxFeePerGas),
      max_priority_fee_per_gas: decimal(tx.maxPriorityFeePerGas),
      gas_used: BigInt(receipts[n][i].gasUsed),
      success: receipts[n][i].status === '0x1',
      block_timestamp: Number(b.timestamp) * 1000,
    })),
  );
  const logs = receipts.flat().flatMap((r) =>
    r.logs.map((l) => ({
      transaction_hash: lower(l.transactionHash),
      address: lower(l.address),
      data: lower(l.data),
      topic0: lower(l.topics[0]),
      topic1: lower(l.topics[1]),
      topic2: lower(l.topics[2]),
      topic3: lower(l.topics[3]),
      log_index: Number(l.logIndex),
    })),
  );
  const blockRows = blocks.map((b) => ({
    block_hash: lower(b.hash),
    parent_hash: lower(b.parentHash),
    author: lower(b.miner),
    extra_data: lower(b.extraData),
    base_fee_per_gas: decimal(b.baseFeePerGas),
  }));
  return { blocks: blockRows, transactions: txs, logs };
}

function expectDecoded(raw: RawTables, expected: ReturnType<typeof expectedRows>, firstTx = 0, firstLog = 0, allocate?: Allocate) {
  const typed = decode(raw, 1, allocate);
  expect(rows(typed.blocks)).toMatchObject(expected.blocks);
  expect(rows(typed.transactions)).toMatchObject(expected.transactions.slice(firstTx));
  expect(rows(typed.logs)).toMatchObject(expected.logs.slice(firstLog));
}

/** `table` (one batch) with `replace` applied to each column. */
function mapColumns(table: Table, replace: (data: Data, name: string) => Data): Table {
  const batch = table.batches[0];
  const children = table.schema.fields.map((f, i) => replace(batch.data.children[i], f.name));
  const data = makeData({ type: new Struct(table.schema.fields), length: batch.numRows, nullCount: 0, children });
  return new Table(table.schema, [new RecordBatch(table.schema, data)]);
}

/**
 * The same strings, their bytes starting at byte `shift` of the buffer, after `pad` junk bytes and
 * followed by as many; null rows hold `nullText` when given.
 */
function relocated(data: Data<Utf8>, shift: number, pad: number, nullText?: string): Data<Utf8> {
  expect(data.offset).toBe(0);
  const texts = [...Array(data.length).keys()].map((i) =>
    data.getValid(i) ? Buffer.from(data.values.subarray(data.valueOffsets[i], data.valueOffsets[i + 1])) : Buffer.from(nullText ?? ''),
  );
  const bytes = Buffer.concat(texts);
  const values = new Uint8Array(shift + pad + bytes.length + pad).fill('Z'.charCodeAt(0)).subarray(shift);
  values.set(bytes, pad);
  const valueOffsets = new Int32Array(data.length + 1);
  valueOffsets[0] = pad;
  texts.forEach((t, i) => (valueOffsets[i + 1] = valueOffsets[i] + t.length));
  return makeData({ type: new Utf8(), length: data.length, nullCount: data.nullCount, nullBitmap: data.nullBitmap, valueOffsets, data: values });
}

function relocatedTables(raw: RawTables, shift: number, pad: number, nullText?: string): RawTables {
  const move = (data: Data): Data => {
    if (data.typeId === Type.Utf8) return relocated(data as Data<Utf8>, shift, pad, nullText);
    const list = data as Data<List<Utf8>>;
    return makeData({ type: list.type, length: list.length, nullCount: 0, valueOffsets: list.valueOffsets, child: move(list.children[0]) as Data<Utf8> });
  };
  return {
    raw_blocks: mapColumns(raw.raw_blocks, move),
    raw_transactions: mapColumns(raw.raw_transactions, move),
    raw_logs: mapColumns(raw.raw_logs, move),
  };
}

describe('decode of generated segments', () => {
  it('gives the values of the RPC objects, hex lower-cased', () => {
    fc.assert(
      fc.property(segmentArb, (segment) => {
        expectDecoded(rawTablesFromRpc(segment.blocks, segment.receipts), expectedRows(segment));
      }),
      { numRuns: 150 },
    );
  });

  it('gives the same values whatever the alignment of the value bytes, with bytes around them and in null rows', () => {
    fc.assert(
      fc.property(segmentArb, fc.nat({ max: 7 }), fc.nat({ max: 5 }), fc.constantFrom(undefined, '0xzz', '0xABCD'), (segment, shift, pad, nullText) => {
        const raw = rawTablesFromRpc(segment.blocks, segment.receipts);
        expectDecoded(relocatedTables(raw, shift, pad, nullText), expectedRows(segment));
      }),
      { numRuns: 150 },
    );
  });

  it('gives the same values in memory from an allocator that hands out dirty, shared buffers', () => {
    fc.assert(
      fc.property(segmentArb, fc.integer({ min: 0, max: 255 }), (segment, junk) => {
        // Like an arena lease: 8-byte aligned pieces of one buffer, holding what was there before.
        const memory = new Uint8Array(1 << 20).fill(junk);
        let used = 0;
        const allocate: Allocate = (bytes) => {
          const at = used;
          used = (used + bytes + 15) & ~7;
          return memory.subarray(at, at + bytes);
        };
        expectDecoded(rawTablesFromRpc(segment.blocks, segment.receipts), expectedRows(segment), 0, 0, allocate);
        expect(used).toBeGreaterThan(0);
      }),
      { numRuns: 150 },
    );
  });

  it('gives the same values for batches sliced to a non-zero offset', () => {
    fc.assert(
      fc.property(segmentArb, fc.nat({ max: 3 }), fc.nat({ max: 3 }), fc.nat({ max: 7 }), (segment, firstTx, firstLog, shift) => {
        const raw = relocatedTables(rawTablesFromRpc(segment.blocks, segment.receipts), shift, 1);
        const sliced = {
          raw_blocks: raw.raw_blocks,
          raw_transactions: raw.raw_transactions.slice(Math.min(firstTx, raw.raw_transactions.numRows)),
          raw_logs: raw.raw_logs.slice(Math.min(firstLog, raw.raw_logs.numRows)),
        };
        expectDecoded(sliced, expectedRows(segment), firstTx, firstLog);
      }),
      { numRuns: 150 },
    );
  });

  it('reports a bad digit anywhere, also in the last byte of a column, with its dataset, column and row', () => {
    const badChars = ['g', 'G', 'x', '/', ':', '@', '`', ' '];
    fc.assert(
      fc.property(segmentArb, fc.nat(), fc.nat(), fc.constantFrom(...badChars), fc.nat({ max: 7 }), (segment, pick, position, bad, shift) => {
        // Every hex value with at least one digit: where it is, and how to corrupt it.
        const targets: { dataset: string; column: string; row: number; get: () => string; set: (v: string) => void }[] = [];
        segment.blocks.forEach((b, row) => targets.push({ dataset: 'raw_blocks', column: 'miner', row, get: () => b.miner, set: (v) => (b.miner = v) }));
        const txs = segment.blocks.flatMap((b) => b.transactions as RpcTransaction[]);
        txs.forEach((tx, row) => {
          targets.push({ dataset: 'raw_transactions', column: 'from', row, get: () => tx.from, set: (v) => (tx.from = v) });
          if (tx.input.length > 2) targets.push({ dataset: 'raw_transactions', column: 'input', row, get: () => tx.input, set: (v) => (tx.input = v) });
        });
        segment.receipts.flat().flatMap((r) => r.logs).forEach((l, row) => {
          l.topics.forEach((_, t) => targets.push({ dataset: 'raw_logs', column: 'topics', row, get: () => l.topics[t], set: (v) => (l.topics[t] = v) }));
          if (l.data.length > 2) targets.push({ dataset: 'raw_logs', column: 'data', row, get: () => l.data, set: (v) => (l.data = v) });
        });
        const target = targets[pick % targets.length];
        const text = target.get();
        const at = 2 + (position % (text.length - 2));
        target.set(text.slice(0, at) + bad + text.slice(at + 1));
        const raw = relocatedTables(rawTablesFromRpc(segment.blocks, segment.receipts), shift, 0);
        let error: unknown;
        try {
          decode(raw, 1);
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(RowError);
        expect(error).toMatchObject({ dataset: target.dataset, column: target.column, row: target.row });
        expect((error as Error).message).toMatch(target.column === 'topics' ? /malformed topic/ : /malformed hex/);
      }),
      { numRuns: 300 },
    );
  });
});

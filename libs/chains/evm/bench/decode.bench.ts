/**
 * Decode throughput: raw EVM segment (RPC encodings as Arrow) → typed tables, for 200k
 * transactions, next to references measured in the same run on the same data:
 * - JSON.parse of the same blocks and receipts as RPC JSON text (the floor of a JSON-based design),
 * - Arrow IPC read of the raw tables (what a consumer pays to receive them over Flight),
 * - the naive way to build two columns (BigInt + Arrow builders) against the direct one decode uses.
 */
import { Int64, makeBuilder, tableFromIPC, tableToIPC, Utf8, vectorFromArray } from 'apache-arrow';
import { decode, rawTablesFromRpc, Utf8Writer, type RpcBlock, type RpcReceipt, type RpcTransaction } from '../src/index.js';
import { firstSignificant, hexToDecimal, quantity as parsed, readQuantity, writeDecimal } from '../src/hex.js';

const TRANSACTIONS = Number(process.env.BENCH_TRANSACTIONS ?? 200_000);
const TXS_PER_BLOCK = 100;
const LOGS_PER_TX = 2;

let state = 42;
const random = () => {
  state = (state + 0x6d2b79f5) | 0;
  let t = Math.imul(state ^ (state >>> 15), 1 | state);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const hex = (bytes: number) => {
  let s = '0x';
  for (let i = 0; i < bytes; i++) s += ((random() * 256) | 0).toString(16).padStart(2, '0');
  return s;
};
const quantity = (n: number | bigint) => `0x${n.toString(16)}`;
const pool = Array.from({ length: 5000 }, () => hex(20));
const pick = () => pool[(random() * pool.length) | 0];

function generate(): { blocks: RpcBlock[]; receipts: RpcReceipt[][] } {
  const blocks: RpcBlock[] = [];
  const receipts: RpcReceipt[][] = [];
  for (let n = 0; n < TRANSACTIONS / TXS_PER_BLOCK; n++) {
    const number = quantity(18_000_000 + n);
    const transactions: RpcTransaction[] = [];
    const blockReceipts: RpcReceipt[] = [];
    let logIndex = 0;
    for (let i = 0; i < TXS_PER_BLOCK; i++) {
      const hash = hex(32);
      const value = random() < 0.4 ? 0n : BigInt(Math.floor(random() * 1e6)) * 10n ** BigInt(Math.floor(random() * 16));
      transactions.push({
        blockNumber: number,
        transactionIndex: quantity(i),
        hash,
        nonce: quantity(Math.floor(random() * 100000)),
        from: pick(),
        to: random() < 0.01 ? null : pick(),
        value: quantity(value),
        input: hex(random() < 0.3 ? 0 : 4 + 32 * Math.floor(random() * 5)),
        gas: quantity(21000 + Math.floor(random() * 300000)),
        gasPrice: quantity(Math.floor(1e9 + random() * 5e10)),
        type: '0x2',
        maxPriorityFeePerGas: quantity(Math.floor(random() * 2e9)),
        maxFeePerGas: quantity(Math.floor(6e10 + random() * 1e10)),
      });
      const logs = Array.from({ length: LOGS_PER_TX }, () => ({
        address: pick(),
        topics: Array.from({ length: 1 + Math.floor(random() * 4) }, () => hex(32)),
        data: hex(32 * Math.floor(random() * 3)),
        blockNumber: number,
        transactionHash: hash,
        transactionIndex: quantity(i),
        logIndex: quantity(logIndex++),
      }));
      blockReceipts.push({
        transactionHash: hash,
        transactionIndex: quantity(i),
        blockNumber: number,
        gasUsed: quantity(21000 + Math.floor(random() * 100000)),
        status: random() < 0.03 ? '0x0' : '0x1',
        logs,
      });
    }
    blocks.push({
      number,
      hash: hex(32),
      parentHash: hex(32),
      timestamp: quantity(1_700_000_000 + n * 12),
      miner: pick(),
      gasUsed: quantity(15_000_000),
      gasLimit: quantity(30_000_000),
      extraData: hex(16),
      baseFeePerGas: quantity(Math.floor(random() * 5e10)),
      transactions,
    });
    receipts.push(blockReceipts);
  }
  return { blocks, receipts };
}

/** Best of `runs` timings, after one warm-up, in seconds. */
function best<T>(runs: number, fn: () => T): { seconds: number; result: T } {
  let result = fn();
  let seconds = Infinity;
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    result = fn();
    seconds = Math.min(seconds, Number(process.hrtime.bigint() - start) / 1e9);
  }
  return { seconds, result };
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const report = (label: string, rows: number, seconds: number, extra = '') =>
  console.log(`${label.padEnd(52)} ${fmt(rows / seconds).padStart(12)} tx rows/s  ${(seconds * 1000).toFixed(0).padStart(6)} ms ${extra}`);

/** Collects garbage between phases when run with --expose-gc, so one phase's heap does not tax the next. */
const collect = () => (globalThis as { gc?: () => void }).gc?.();

// The RPC objects only live while the raw tables are built: a transformer never holds them.
const json = (() => {
  const { blocks, receipts } = generate();
  return JSON.stringify({ blocks, receipts });
})();
const fromRpc = (() => {
  const { blocks, receipts } = JSON.parse(json) as { blocks: RpcBlock[]; receipts: RpcReceipt[][] };
  return best(3, () => rawTablesFromRpc(blocks, receipts));
})();
const ipc = {
  raw_blocks: tableToIPC(fromRpc.result.raw_blocks),
  raw_transactions: tableToIPC(fromRpc.result.raw_transactions),
  raw_logs: tableToIPC(fromRpc.result.raw_logs),
};
const ipcBytes = ipc.raw_blocks.length + ipc.raw_transactions.length + ipc.raw_logs.length;
const logRows = fromRpc.result.raw_logs.numRows;
const blockRows = fromRpc.result.raw_blocks.numRows;
fromRpc.result = undefined as never;
collect();
console.log(`${fmt(TRANSACTIONS)} transactions, ${fmt(logRows)} logs, ${fmt(blockRows)} blocks; RPC JSON ${(json.length / 1e6).toFixed(0)} MB, raw Arrow IPC ${(ipcBytes / 1e6).toFixed(0)} MB\n`);

const read = best(3, () => ({
  raw_blocks: tableFromIPC(ipc.raw_blocks),
  raw_transactions: tableFromIPC(ipc.raw_transactions),
  raw_logs: tableFromIPC(ipc.raw_logs),
}));
const decoded = best(5, () => decode(read.result, 1));
report('decode (raw → blocks + transactions + logs)', TRANSACTIONS, decoded.seconds,
  `(${fmt((TRANSACTIONS + logRows + blockRows) / decoded.seconds)} rows/s all datasets)`);
decoded.result = undefined as never;
collect();
report('reference: Arrow IPC read of the raw tables', TRANSACTIONS, read.seconds);
const parse = best(3, () => void JSON.parse(json));
report('reference: JSON.parse of the same RPC JSON', TRANSACTIONS, parse.seconds);
report('rawTablesFromRpc (RPC objects → raw Arrow)', TRANSACTIONS, fromRpc.seconds);
collect();

console.log(`\nbuilding one column, ${fmt(TRANSACTIONS)} rows:`);
const valueHex = read.result.raw_transactions.getChild('value')!.toArray() as string[];
const nonceHex = read.result.raw_transactions.getChild('nonce')!.toArray() as string[];
const naiveValue = best(3, () => vectorFromArray(valueHex.map((v) => BigInt(v).toString()), new Utf8()));
report('  value via BigInt().toString() + vectorFromArray', TRANSACTIONS, naiveValue.seconds);
const valueData = read.result.raw_transactions.getChild('value')!.data[0];
const direct = best(3, () => {
  const values = valueData.values as Uint8Array;
  const offsets = valueData.valueOffsets as Int32Array;
  const out = new Utf8Writer(valueData.length, 12);
  for (let i = 0; i < valueData.length; i++) {
    const s = offsets[i];
    const e = offsets[i + 1];
    readQuantity(values, s, e);
    const at = out.reserve(78);
    if (!parsed.above64 && parsed.hi < 0x100000) out.commit(writeDecimal(parsed.hi * 4294967296 + parsed.lo, out.bytes, at));
    else out.commit(hexToDecimal(values, firstSignificant(values, s, e), e, out.bytes, at));
  }
  return out.finish();
});
report('  value as decode does it (bytes → decimal bytes)', TRANSACTIONS, direct.seconds);
const naiveNonce = best(3, () => {
  const builder = makeBuilder({ type: new Int64(), nullValues: [] });
  for (const v of nonceHex) builder.append(BigInt(v));
  return builder.finish().toVector();
});
report('  nonce via BigInt() + makeBuilder(Int64)', TRANSACTIONS, naiveNonce.seconds);

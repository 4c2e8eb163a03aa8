import type { Data } from 'apache-arrow';
import { rawTable, type RawTables } from './raw.js';
import { Utf8ListWriter, Utf8Writer } from './writers.js';

/** Hex-encoded unsigned integer, `0x` followed by digits without leading zeros (JSON-RPC "quantity"). */
export type Quantity = string;
/** `0x`-prefixed hex bytes (JSON-RPC "data"). */
export type HexData = string;

/** A log as returned inside eth_getBlockReceipts / eth_getTransactionReceipt. */
export interface RpcLog {
  address: HexData;
  topics: HexData[];
  data: HexData;
  blockNumber: Quantity;
  blockHash?: HexData;
  transactionHash: HexData;
  transactionIndex: Quantity;
  logIndex: Quantity;
  removed?: boolean;
}

/** A transaction object of eth_getBlockByNumber(n, true). */
export interface RpcTransaction {
  blockHash?: HexData;
  blockNumber: Quantity;
  transactionIndex: Quantity;
  hash: HexData;
  nonce: Quantity;
  from: HexData;
  /** null for a contract creation. */
  to: HexData | null;
  value: Quantity;
  input: HexData;
  gas: Quantity;
  /** For mined transactions nodes report the effective gas price here. */
  gasPrice?: Quantity;
  /** Absent from pre-Berlin responses (legacy). */
  type?: Quantity;
  maxPriorityFeePerGas?: Quantity;
  maxFeePerGas?: Quantity;
  chainId?: Quantity;
  accessList?: unknown[];
  v?: Quantity;
  r?: Quantity;
  s?: Quantity;
  yParity?: Quantity;
}

/** A receipt of eth_getBlockReceipts. */
export interface RpcReceipt {
  transactionHash: HexData;
  transactionIndex: Quantity;
  blockHash?: HexData;
  blockNumber: Quantity;
  from?: HexData;
  to?: HexData | null;
  cumulativeGasUsed?: Quantity;
  gasUsed: Quantity;
  effectiveGasPrice?: Quantity;
  contractAddress?: HexData | null;
  logs: RpcLog[];
  logsBloom?: HexData;
  type?: Quantity;
  /** `0x1` success, `0x0` failure; absent before Byzantium. */
  status?: Quantity;
  root?: HexData;
}

/** A block of eth_getBlockByNumber(n, true). */
export interface RpcBlock {
  number: Quantity;
  hash: HexData;
  parentHash: HexData;
  timestamp: Quantity;
  miner: HexData;
  gasUsed: Quantity;
  gasLimit: Quantity;
  extraData: HexData;
  /** Absent before London. */
  baseFeePerGas?: Quantity;
  transactions: RpcTransaction[] | HexData[];
  nonce?: HexData;
  sha3Uncles?: HexData;
  logsBloom?: HexData;
  transactionsRoot?: HexData;
  stateRoot?: HexData;
  receiptsRoot?: HexData;
  difficulty?: Quantity;
  totalDifficulty?: Quantity;
  size?: Quantity;
  mixHash?: HexData;
  uncles?: HexData[];
  withdrawals?: unknown[];
  withdrawalsRoot?: HexData;
  blobGasUsed?: Quantity;
  excessBlobGas?: Quantity;
  parentBeaconBlockRoot?: HexData;
}

function pushRequired(writer: Utf8Writer, value: unknown, where: string): void {
  if (typeof value !== 'string') throw new Error(`${where} is ${value === undefined ? 'missing' : 'not a string'}`);
  writer.pushString(value);
}

function pushOptional(writer: Utf8Writer, value: unknown, where: string): void {
  if (value === undefined || value === null) writer.pushNull();
  else pushRequired(writer, value, where);
}

/**
 * Lays out blocks (eth_getBlockByNumber with full transactions) and their receipts
 * (eth_getBlockReceipts, `receipts[i]` for `blocks[i]`) as raw tables, keeping every value as
 * the node encoded it. Throws an Error naming the block and field when a response is incomplete.
 */
export function rawTablesFromRpc(blocks: RpcBlock[], receipts: RpcReceipt[][]): RawTables {
  if (receipts.length !== blocks.length) {
    throw new Error(`got receipts for ${receipts.length} blocks, expected ${blocks.length}`);
  }
  let txCount = 0;
  let logCount = 0;
  for (const r of receipts) {
    txCount += r.length;
    for (const receipt of r) logCount += receipt.logs?.length ?? 0;
  }

  const b = {
    number: new Utf8Writer(blocks.length, 8),
    hash: new Utf8Writer(blocks.length, 66),
    parentHash: new Utf8Writer(blocks.length, 66),
    timestamp: new Utf8Writer(blocks.length, 10),
    miner: new Utf8Writer(blocks.length, 42),
    gasUsed: new Utf8Writer(blocks.length, 9),
    gasLimit: new Utf8Writer(blocks.length, 9),
    extraData: new Utf8Writer(blocks.length, 34),
    baseFeePerGas: new Utf8Writer(blocks.length, 10),
  };
  const t = {
    blockNumber: new Utf8Writer(txCount, 8),
    transactionIndex: new Utf8Writer(txCount, 4),
    hash: new Utf8Writer(txCount, 66),
    nonce: new Utf8Writer(txCount, 6),
    from: new Utf8Writer(txCount, 42),
    to: new Utf8Writer(txCount, 42),
    value: new Utf8Writer(txCount, 16),
    input: new Utf8Writer(txCount, 138),
    gas: new Utf8Writer(txCount, 7),
    gasPrice: new Utf8Writer(txCount, 10),
    type: new Utf8Writer(txCount, 3),
    maxPriorityFeePerGas: new Utf8Writer(txCount, 10),
    maxFeePerGas: new Utf8Writer(txCount, 10),
    gasUsed: new Utf8Writer(txCount, 7),
    status: new Utf8Writer(txCount, 3),
  };
  const l = {
    blockNumber: new Utf8Writer(logCount, 8),
    transactionIndex: new Utf8Writer(logCount, 4),
    logIndex: new Utf8Writer(logCount, 4),
    transactionHash: new Utf8Writer(logCount, 66),
    address: new Utf8Writer(logCount, 42),
    topics: new Utf8ListWriter(logCount, 3, 66),
    data: new Utf8Writer(logCount, 66),
  };

  for (const [i, block] of blocks.entries()) {
    const where = `block ${block.number ?? `#${i}`}`;
    pushRequired(b.number, block.number, `${where}: number`);
    pushRequired(b.hash, block.hash, `${where}: hash`);
    pushRequired(b.parentHash, block.parentHash, `${where}: parentHash`);
    pushRequired(b.timestamp, block.timestamp, `${where}: timestamp`);
    pushRequired(b.miner, block.miner, `${where}: miner`);
    pushRequired(b.gasUsed, block.gasUsed, `${where}: gasUsed`);
    pushRequired(b.gasLimit, block.gasLimit, `${where}: gasLimit`);
    pushRequired(b.extraData, block.extraData, `${where}: extraData`);
    pushOptional(b.baseFeePerGas, block.baseFeePerGas, `${where}: baseFeePerGas`);

    const txs = block.transactions ?? [];
    const blockReceipts = receipts[i];
    if (blockReceipts.length !== txs.length) {
      throw new Error(`${where}: ${blockReceipts.length} receipts for ${txs.length} transactions`);
    }
    for (const [j, tx] of txs.entries()) {
      if (typeof tx !== 'object' || tx === null) {
        throw new Error(`${where}: transaction ${j} is a hash, fetch the block with full transactions`);
      }
      const receipt = blockReceipts[j];
      if (receipt.transactionHash !== tx.hash) {
        throw new Error(`${where}: receipt ${j} is for ${receipt.transactionHash}, expected ${tx.hash}`);
      }
      const at = `${where} transaction ${tx.hash}`;
      pushRequired(t.blockNumber, tx.blockNumber, `${at}: blockNumber`);
      pushRequired(t.transactionIndex, tx.transactionIndex, `${at}: transactionIndex`);
      pushRequired(t.hash, tx.hash, `${at}: hash`);
      pushRequired(t.nonce, tx.nonce, `${at}: nonce`);
      pushRequired(t.from, tx.from, `${at}: from`);
      pushOptional(t.to, tx.to, `${at}: to`);
      pushRequired(t.value, tx.value, `${at}: value`);
      pushRequired(t.input, tx.input, `${at}: input`);
      pushRequired(t.gas, tx.gas, `${at}: gas`);
      pushRequired(t.gasPrice, tx.gasPrice ?? receipt.effectiveGasPrice, `${at}: gasPrice (nor receipt effectiveGasPrice)`);
      pushOptional(t.type, tx.type, `${at}: type`);
      pushOptional(t.maxPriorityFeePerGas, tx.maxPriorityFeePerGas, `${at}: maxPriorityFeePerGas`);
      pushOptional(t.maxFeePerGas, tx.maxFeePerGas, `${at}: maxFeePerGas`);
      pushRequired(t.gasUsed, receipt.gasUsed, `${at}: receipt gasUsed`);
      pushOptional(t.status, receipt.status, `${at}: receipt status`);

      for (const log of receipt.logs ?? []) {
        const lat = `${at} log ${log.logIndex}`;
        pushRequired(l.blockNumber, log.blockNumber, `${lat}: blockNumber`);
        pushRequired(l.transactionIndex, log.transactionIndex, `${lat}: transactionIndex`);
        pushRequired(l.logIndex, log.logIndex, `${lat}: logIndex`);
        pushRequired(l.transactionHash, log.transactionHash, `${lat}: transactionHash`);
        pushRequired(l.address, log.address, `${lat}: address`);
        if (!Array.isArray(log.topics)) throw new Error(`${lat}: topics is not an array`);
        for (const topic of log.topics) pushRequired(l.topics.items, topic, `${lat}: topic`);
        l.topics.endList();
        pushRequired(l.data, log.data, `${lat}: data`);
      }
    }
  }

  const finish = (writers: Record<string, { finish(): Data }>): Record<string, Data> =>
    Object.fromEntries(Object.entries(writers).map(([k, w]) => [k, w.finish()]));
  return {
    raw_blocks: rawTable('raw_blocks', finish(b)),
    raw_transactions: rawTable('raw_transactions', finish(t)),
    raw_logs: rawTable('raw_logs', finish(l)),
  };
}

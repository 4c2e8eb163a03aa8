import { rawTable, Utf8ListWriter, Utf8Writer, type RawTables } from '@chainlake/chain-evm';
import type { SyntheticChainOptions } from './chain.js';
import {
  Column,
  IDLE_LIST,
  EIGHT_ZEROS,
  finishColumns,
  FOUR_ZEROS,
  PREFIX,
  pushAddresses,
  pushPooled,
  pushQuantities,
  pushQuantity,
  pushRandomHex,
  pushRepeatedQuantity,
  writeCopy32,
  writePooled,
  writeRandomHex,
} from './columns.js';
import { HEX_DIGITS } from './hex.js';
import { Random } from './random.js';

// Independent random streams.
const STREAM_POOL = 1;
const STREAM_HASH = 2;
const STREAM_BODY = 3;

const SENDERS = 10_000;
const CONTRACTS = 300;
const MINERS = 16;
const EVENTS = 64;
const SELECTORS = 128;

/** 8-digit words per pooled value: 20-byte addresses, 32-byte topics, 4-byte selectors. */
const ADDRESS_WORDS = 5;
const TOPIC_WORDS = 8;

const GAS_LIMIT = 30_000_000;
/** Share of transactions that call or create a contract; the rest are plain transfers. */
const CONTRACT_SHARE = 0.6;
const CREATION_SHARE = 0.02;
const FAILED_SHARE = 0.03;

/** A transaction's kind, where it is not a call of the contract with this index. */
const TRANSFER = -1;
const CREATION = -2;

/**
 * `count` random values of `bytes` bytes as hex digits (without `0x`), eight digits per float64
 * word (see columns.ts). The platform's byte order does not matter: reordered random digits are
 * random digits.
 */
function pool(random: Random, count: number, bytes: number): Float64Array {
  const words = new Float64Array((count * bytes) / 4);
  random.hex(new DataView(words.buffer), 0, count * bytes * 2);
  return words;
}

/** The chain's fixed sets of addresses, event signatures and selectors, so that grouping by them is meaningful. */
export class Pools {
  /** The senders, then the contracts. */
  readonly addresses: Float64Array;
  readonly miners: Float64Array;
  readonly events: Float64Array;
  readonly selectors: Float64Array;

  constructor(seed: number) {
    const random = new Random(seed, STREAM_POOL);
    this.addresses = pool(random, SENDERS + CONTRACTS, 20);
    this.miners = pool(random, MINERS, 20);
    this.events = pool(random, EVENTS, 32);
    this.selectors = pool(random, SELECTORS, 4);
  }
}

const grownFloat64 = (array: Float64Array<ArrayBuffer>, n: number): Float64Array<ArrayBuffer> => (n <= array.length ? array : new Float64Array(Math.max(n, 2 * array.length)));
const grownInt32 = (array: Int32Array<ArrayBuffer>, n: number): Int32Array<ArrayBuffer> => (n <= array.length ? array : new Int32Array(Math.max(n, 2 * array.length)));

/**
 * The block being written, drawn transaction by transaction first, so that each column is then
 * written in a short loop of its own. Quantities of -1 stand for null. Reused from block to block.
 */
class BlockDraws {
  transactions = 0;
  logs = 0;
  gasUsed = 0;
  /** 0, 1, 2, …: transaction and log indexes. */
  ramp = new Float64Array(0);
  // One entry per transaction.
  nonce = new Float64Array(0);
  /** Word offsets into Pools.addresses; -1: no address (a contract creation's `to`). */
  from = new Int32Array(0);
  to = new Int32Array(0);
  /** The called contract's index, TRANSFER or CREATION. */
  contract = new Int32Array(0);
  zeroValue = new Int32Array(0);
  gas = new Float64Array(0);
  gasUsedByTx = new Float64Array(0);
  type = new Float64Array(0);
  maxPriorityFee = new Float64Array(0);
  maxFee = new Float64Array(0);
  gasPrice = new Float64Array(0);
  status = new Float64Array(0);
  logsOfTx = new Int32Array(0);
  /** Where each transaction's hash starts in the hash column. */
  hashAt = new Int32Array(0);
  // One entry per log.
  logTx = new Float64Array(0);

  reserveTransactions(count: number): void {
    this.transactions = count;
    if (count <= this.nonce.length) return;
    this.ramp = this.rampOf(count);
    this.nonce = grownFloat64(this.nonce, count);
    this.from = grownInt32(this.from, count);
    this.to = grownInt32(this.to, count);
    this.contract = grownInt32(this.contract, count);
    this.zeroValue = grownInt32(this.zeroValue, count);
    this.gas = grownFloat64(this.gas, count);
    this.gasUsedByTx = grownFloat64(this.gasUsedByTx, count);
    this.type = grownFloat64(this.type, count);
    this.maxPriorityFee = grownFloat64(this.maxPriorityFee, count);
    this.maxFee = grownFloat64(this.maxFee, count);
    this.gasPrice = grownFloat64(this.gasPrice, count);
    this.status = grownFloat64(this.status, count);
    this.logsOfTx = grownInt32(this.logsOfTx, count);
    this.hashAt = grownInt32(this.hashAt, count);
  }

  /** Sets `logs` and each log's transaction from `logsOfTx`. */
  listLogs(): void {
    let logs = 0;
    for (let i = 0; i < this.transactions; i++) logs += this.logsOfTx[i];
    this.logs = logs;
    this.ramp = this.rampOf(logs);
    this.logTx = grownFloat64(this.logTx, logs);
    let j = 0;
    for (let i = 0; i < this.transactions; i++) {
      for (let k = this.logsOfTx[i]; k > 0; k--) this.logTx[j++] = i;
    }
  }

  private rampOf(n: number): Float64Array<ArrayBuffer> {
    if (n <= this.ramp.length) return this.ramp;
    const ramp = new Float64Array(Math.max(n, 2 * this.ramp.length));
    for (let i = 0; i < ramp.length; i++) ramp[i] = i;
    return ramp;
  }
}

export type ChainShape = Pick<SyntheticChainOptions, 'seed' | 'txsPerBlock' | 'logsPerTx' | 'blockTimeMs' | 'genesisTimestampMs'>;

/** Bytes per row that each column is sized for: the means of the distributions below, with some margin. */
const BLOCK_COLUMNS = {
  number: 10, hash: 66, parentHash: 66, timestamp: 10, miner: 42, gasUsed: 9, gasLimit: 9, extraData: 18, baseFeePerGas: 11,
};
const TRANSACTION_COLUMNS = {
  blockNumber: 10, transactionIndex: 4, hash: 66, nonce: 7, from: 42, to: 42, value: 12, input: 120, gas: 8, gasPrice: 11,
  type: 3, maxPriorityFeePerGas: 10, maxFeePerGas: 12, gasUsed: 8, status: 3,
};
const LOG_COLUMNS = { blockNumber: 10, transactionIndex: 4, logIndex: 5, transactionHash: 66, address: 42, data: 120 };
const TOPICS_PER_LOG = 3;

const columnsOf = <K extends string>(sizes: Record<K, number>): Record<K, Column> =>
  Object.fromEntries(Object.keys(sizes).map((name) => [name, new Column()])) as Record<K, Column>;

const writersOf = <K extends string>(sizes: Record<K, number>, rows: number): Record<K, Utf8Writer> =>
  Object.fromEntries(Object.entries<number>(sizes).map(([name, bytes]) => [name, new Utf8Writer(rows, bytes)])) as Record<K, Utf8Writer>;

function attachAll<K extends string>(columns: Record<K, Column>, writers: Record<K, Utf8Writer>): void {
  for (const name of Object.keys(writers) as K[]) {
    writers[name].reset();
    columns[name].attach(writers[name]);
  }
}

/**
 * The writers of one segment's columns. A segment whose caller keeps its tables gets new ones; a
 * leased segment's are reused once released (SyntheticChain.leaseRawSegment), so that the
 * source, which copies every segment into its spool, does not allocate (and page-fault and
 * garbage-collect) a segment's worth of fresh buffers each time.
 */
export class SegmentWriters {
  readonly blocks: Record<keyof typeof BLOCK_COLUMNS, Utf8Writer>;
  readonly txs: Record<keyof typeof TRANSACTION_COLUMNS, Utf8Writer>;
  readonly logs: Record<keyof typeof LOG_COLUMNS, Utf8Writer>;
  readonly topics: Utf8ListWriter;

  /** Sized for `blocks` blocks of a chain of this shape, so that they rarely regrow. */
  constructor(blocks: number, shape: ChainShape) {
    const txs = Math.ceil(blocks * shape.txsPerBlock * 1.1) + 16;
    const logs = Math.ceil(txs * shape.logsPerTx) + 1;
    this.blocks = writersOf(BLOCK_COLUMNS, blocks);
    this.txs = writersOf(TRANSACTION_COLUMNS, txs);
    this.logs = writersOf(LOG_COLUMNS, logs);
    this.topics = new Utf8ListWriter(logs, TOPICS_PER_LOG, 66);
  }
}

/**
 * Generates raw segments of one chain, a block at a time. Everything but the writers of a segment
 * lives as long as the chain: besides saving allocations, this keeps V8 from throwing away the
 * optimized generation code between segments, which it does at a full GC when every instance of a
 * class the code was specialized for has died (per-block Random instances, per-segment writers).
 */
export class SegmentGenerator {
  private readonly blocks = columnsOf(BLOCK_COLUMNS);
  private readonly txs = columnsOf(TRANSACTION_COLUMNS);
  private readonly logs = columnsOf(LOG_COLUMNS);
  private topics = IDLE_LIST;
  /** The items of `topics`. */
  private readonly topicItems = new Column();
  private readonly draws = new BlockDraws();
  private readonly body = new Random();
  private readonly hashes = new Random();
  private readonly logsPerContractTx: number;

  constructor(
    private readonly shape: ChainShape,
    private readonly pools: Pools,
  ) {
    this.logsPerContractTx = shape.logsPerTx / (CONTRACT_SHARE * (1 - FAILED_SHARE));
  }

  /** Starts a segment written by `writers`, emptied first. */
  begin(writers: SegmentWriters): void {
    attachAll(this.blocks, writers.blocks);
    attachAll(this.txs, writers.txs);
    attachAll(this.logs, writers.logs);
    writers.topics.reset();
    this.topics = writers.topics;
    this.topicItems.attach(this.topics.items);
  }

  /** Appends block n, whose hash is that of version `version` and its parent's of `parentVersion`. */
  writeBlock(n: number, version: number, parentVersion: number): void {
    const { seed, txsPerBlock, blockTimeMs, genesisTimestampMs } = this.shape;
    const random = this.body.reseed(seed, STREAM_BODY, n, version);
    const b = this.blocks;
    pushQuantity(b.number, n);
    const hashAt = b.hash.reserve(66);
    b.hash.commit(this.writeBlockHash(b.hash.view, hashAt, n, version));
    const parentHashAt = b.parentHash.reserve(66);
    b.parentHash.commit(this.writeBlockHash(b.parentHash.view, parentHashAt, n - 1, parentVersion));
    pushQuantity(b.timestamp, Math.floor((genesisTimestampMs + n * blockTimeMs) / 1000));
    pushPooled(b.miner, this.pools.miners, random.int(MINERS) * ADDRESS_WORDS, ADDRESS_WORDS);
    pushQuantity(b.gasLimit, GAS_LIMIT);
    pushRandomHex(b.extraData, random, 8);
    const baseFee = 1_000_000_000 + random.int(60_000_000_000);
    pushQuantity(b.baseFeePerGas, baseFee);

    this.drawTransactions(random, Math.round(txsPerBlock * (0.5 + random.float())), baseFee);
    pushQuantity(b.gasUsed, this.draws.gasUsed);
    this.writeTransactions(random, n);
    this.draws.listLogs();
    this.writeLogs(random, n);
  }

  /** The segment's tables, in the buffers of the writers it began with; the generator keeps none of them. */
  finish(): RawTables {
    const topics = this.topics.finish();
    this.topics = IDLE_LIST;
    this.topicItems.attach(IDLE_LIST.items);
    return {
      raw_blocks: rawTable('raw_blocks', finishColumns(this.blocks)),
      raw_transactions: rawTable('raw_transactions', finishColumns(this.txs)),
      raw_logs: rawTable('raw_logs', { ...finishColumns(this.logs), topics }),
    };
  }

  /** The hash of version `version` of block n. */
  blockHash(n: number, version: number): string {
    const out = new Uint8Array(66);
    this.writeBlockHash(new DataView(out.buffer), 0, n, version);
    return new TextDecoder().decode(out);
  }

  /** Writes the hash of version `version` of block n (n = -1: the genesis block's parent) at `at`; returns the end. */
  private writeBlockHash(out: DataView, at: number, n: number, version: number): number {
    out.setUint16(at, PREFIX, true);
    if (n < 0) {
      for (let k = 2; k < 66; k += 4) out.setUint32(at + k, FOUR_ZEROS, true);
      return at + 66;
    }
    return this.hashes.reseed(this.shape.seed, STREAM_HASH, n, version).hex(out, at + 2, 64);
  }

  private drawTransactions(random: Random, count: number, baseFee: number): void {
    const d = this.draws;
    d.reserveTransactions(count);
    let gasUsedInBlock = 0;
    for (let i = 0; i < count; i++) {
      d.nonce[i] = random.int(200_000);
      // Squaring skews activity towards the first senders, as on real chains.
      const u = random.float();
      d.from[i] = Math.floor(u * u * SENDERS) * ADDRESS_WORDS;

      const kind = random.float();
      const contract = kind < CREATION_SHARE ? CREATION : kind < CONTRACT_SHARE ? random.int(CONTRACTS) : TRANSFER;
      d.contract[i] = contract;
      if (contract === CREATION) d.to[i] = -1;
      else d.to[i] = (contract === TRANSFER ? random.int(SENDERS) : SENDERS + contract) * ADDRESS_WORDS;
      d.zeroValue[i] = contract >= 0 && random.float() < 0.6 ? 1 : 0;

      let gas: number;
      let gasUsed: number;
      if (contract === CREATION) {
        gas = 500_000 + random.int(2_000_000);
        gasUsed = Math.floor(gas * (0.5 + random.float() / 2));
      } else if (contract === TRANSFER) {
        gas = 21_000;
        gasUsed = 21_000;
      } else {
        gas = 50_000 + random.int(450_000);
        gasUsed = Math.floor(gas * (0.3 + random.float() * 0.7));
      }
      d.gas[i] = gas;
      d.gasUsedByTx[i] = gasUsed;
      gasUsedInBlock += gasUsed;

      const type = random.float();
      if (type < 0.7) {
        const tip = random.int(3_000_000_000);
        d.type[i] = 2;
        d.maxPriorityFee[i] = tip;
        d.maxFee[i] = baseFee * 2 + tip;
        d.gasPrice[i] = baseFee + tip;
      } else {
        d.type[i] = type < 0.75 ? 1 : 0;
        d.maxPriorityFee[i] = -1;
        d.maxFee[i] = -1;
        d.gasPrice[i] = baseFee + random.int(5_000_000_000);
      }

      const failed = random.float() < FAILED_SHARE;
      d.status[i] = failed ? 0 : 1;
      d.logsOfTx[i] = failed || contract === TRANSFER ? 0 : Math.floor(random.float() * (2 * this.logsPerContractTx + 1));
    }
    d.gasUsed = gasUsedInBlock;
  }

  private writeTransactions(random: Random, n: number): void {
    const t = this.txs;
    const d = this.draws;
    const count = d.transactions;
    pushRepeatedQuantity(t.blockNumber, n, count);
    pushQuantities(t.transactionIndex, d.ramp, count);
    this.writeHashes(random);
    pushQuantities(t.nonce, d.nonce, count);
    pushAddresses(t.from, this.pools.addresses, d.from, count);
    pushAddresses(t.to, this.pools.addresses, d.to, count);
    this.writeValues(random);
    this.writeInputs(random);
    pushQuantities(t.gas, d.gas, count);
    pushQuantities(t.gasUsed, d.gasUsedByTx, count);
    pushQuantities(t.type, d.type, count);
    pushQuantities(t.maxPriorityFeePerGas, d.maxPriorityFee, count);
    pushQuantities(t.maxFeePerGas, d.maxFee, count);
    pushQuantities(t.gasPrice, d.gasPrice, count);
    pushQuantities(t.status, d.status, count);
  }

  private writeHashes(random: Random): void {
    const column = this.txs.hash;
    const hashAt = this.draws.hashAt;
    let at = column.reserve(66 * this.draws.transactions);
    const view = column.view;
    for (let i = 0; i < this.draws.transactions; i++) {
      hashAt[i] = at;
      at = writeRandomHex(view, at, random, 32);
      column.commit(at);
    }
  }

  /** Wei amounts: zero for most contract calls, else spread log-uniformly over 1 to 20 hex digits (about a fifth above 2^64). */
  private writeValues(random: Random): void {
    const column = this.txs.value;
    const zeroValue = this.draws.zeroValue;
    for (let i = 0; i < this.draws.transactions; i++) {
      if (zeroValue[i]) {
        pushQuantity(column, 0);
        continue;
      }
      const digits = 1 + random.int(20);
      const at = column.reserve(2 + digits);
      const view = column.view;
      view.setUint16(at, PREFIX, true);
      view.setUint8(at + 2, HEX_DIGITS[1 + random.int(15)]);
      column.commit(random.hex(view, at + 3, digits - 1));
    }
  }

  /** Init code for creations, a selector and 0 to 4 argument words for calls, nothing for transfers. */
  private writeInputs(random: Random): void {
    const column = this.txs.input;
    const contract = this.draws.contract;
    const selectors = this.pools.selectors;
    for (let i = 0; i < this.draws.transactions; i++) {
      if (contract[i] === CREATION) {
        pushRandomHex(column, random, 100 + random.int(400));
      } else if (contract[i] === TRANSFER) {
        const at = column.reserve(2);
        column.view.setUint16(at, PREFIX, true);
        column.commit(at + 2);
      } else {
        const selector = selectors[random.int(SELECTORS)];
        const digits = 64 * random.int(5);
        const at = column.reserve(10 + digits);
        const view = column.view;
        view.setUint16(at, PREFIX, true);
        view.setFloat64(at + 2, selector, true);
        column.commit(random.hex(view, at + 10, digits));
      }
    }
  }

  private writeLogs(random: Random, n: number): void {
    const l = this.logs;
    const d = this.draws;
    const count = d.logs;
    pushRepeatedQuantity(l.blockNumber, n, count);
    pushQuantities(l.transactionIndex, d.logTx, count);
    pushQuantities(l.logIndex, d.ramp, count);
    this.writeLogHashes();
    this.writeEmitters(random);
    this.writeTopics(random);
    for (let j = 0; j < count; j++) pushRandomHex(l.data, random, 32 * random.int(4));
  }

  private writeLogHashes(): void {
    const column = this.logs.transactionHash;
    const { hashAt, logTx } = this.draws;
    const hashes = this.txs.hash.view;
    let at = column.reserve(66 * this.draws.logs);
    const view = column.view;
    for (let j = 0; j < this.draws.logs; j++) {
      at = writeCopy32(view, at, hashes, hashAt[logTx[j]]);
      column.commit(at);
    }
  }

  /** Mostly the called contract; any contract for creations and for calls into other contracts. */
  private writeEmitters(random: Random): void {
    const column = this.logs.address;
    const { contract, logTx } = this.draws;
    const addresses = this.pools.addresses;
    let at = column.reserve(42 * this.draws.logs);
    const view = column.view;
    for (let j = 0; j < this.draws.logs; j++) {
      const called = contract[logTx[j]];
      const emitter = called === CREATION || random.float() < 0.3 ? random.int(CONTRACTS) : called;
      at = writePooled(view, at, addresses, (SENDERS + emitter) * ADDRESS_WORDS, ADDRESS_WORDS);
      column.commit(at);
    }
  }

  /** An event signature, then 0 to 3 indexed values: mostly addresses left-padded to 32 bytes, else random words. */
  private writeTopics(random: Random): void {
    const items = this.topicItems;
    const { addresses, events } = this.pools;
    for (let j = 0; j < this.draws.logs; j++) {
      const topics = 1 + random.int(4);
      let at = items.reserve(66 * topics);
      const view = items.view;
      at = writePooled(view, at, events, random.int(EVENTS) * TOPIC_WORDS, TOPIC_WORDS);
      items.commit(at);
      for (let k = 1; k < topics; k++) {
        if (random.float() < 0.7) {
          view.setUint16(at, PREFIX, true);
          for (let c = 2; c < 26; c += 8) view.setFloat64(at + c, EIGHT_ZEROS, true);
          const sender = random.int(SENDERS) * ADDRESS_WORDS;
          for (let c = 0; c < ADDRESS_WORDS; c++) view.setFloat64(at + 26 + 8 * c, addresses[sender + c], true);
          at += 66;
        } else {
          at = writeRandomHex(view, at, random, 32);
        }
        items.commit(at);
      }
      this.topics.endList();
    }
  }
}

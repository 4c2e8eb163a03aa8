import type { Data } from 'apache-arrow';
import { rawTable, Utf8ListWriter, Utf8Writer, type RawTables } from '@chainlake/chain-evm';
import { Random } from './random.js';

export interface SyntheticChainOptions {
  seed: number;
  chainId: number;
  blockTimeMs: number;
  /** Mean; each block's count is uniform in [0.5x, 1.5x]. */
  txsPerBlock: number;
  /** Mean over all transactions (failed ones and plain transfers emit none). */
  logsPerTx: number;
  finalityDepth: number;
  /** Timestamp of block 0. Head = floor((now - genesis) / blockTime). */
  genesisTimestampMs: number;
  /** Inject a reorg whenever the head reaches a multiple of this; 0 or absent: never. */
  reorgEvery?: number;
  /** Blocks replaced by each reorg; must be below finalityDepth. */
  reorgDepth?: number;
  /** Clock in ms, Date.now by default. */
  now?: () => number;
}

// Independent random streams.
const STREAM_POOL = 1;
const STREAM_HASH = 2;
const STREAM_BODY = 3;

const SENDERS = 10_000;
const CONTRACTS = 300;
const MINERS = 16;
const EVENTS = 64;
const SELECTORS = 128;

const ZERO = 48;
const X = 120;
const GAS_LIMIT = 30_000_000;
/** Share of transactions that call or create a contract; the rest are plain transfers. */
const CONTRACT_SHARE = 0.6;
const FAILED_SHARE = 0.03;

/** `count` random `0x`-prefixed hex strings of `bytes` bytes, concatenated as UTF-8. */
function pool(random: Random, count: number, bytes: number): Uint8Array {
  const width = 2 + 2 * bytes;
  const out = new Uint8Array(count * width);
  for (let i = 0; i < count; i++) {
    out[i * width] = ZERO;
    out[i * width + 1] = X;
    random.hex(out, i * width + 2, 2 * bytes);
  }
  return out;
}

function copy(w: Utf8Writer, source: Uint8Array, start: number, length: number): void {
  const at = w.reserve(length);
  const b = w.bytes;
  for (let i = 0; i < length; i++) b[at + i] = source[start + i];
  w.commit(at + length);
}

function randomHex(w: Utf8Writer, random: Random, bytes: number): number {
  const at = w.reserve(2 + 2 * bytes);
  w.bytes[at] = ZERO;
  w.bytes[at + 1] = X;
  w.commit(random.hex(w.bytes, at + 2, 2 * bytes));
  return at;
}

function check(name: string, value: number | undefined, min: number, integer = true): void {
  if (value === undefined || !Number.isFinite(value) || value < min || (integer && !Number.isSafeInteger(value))) {
    throw new Error(`synthetic chain option ${name} must be ${integer ? 'an integer' : 'a number'} >= ${min}, got ${value}`);
  }
}

interface Writers {
  blocks: Record<'number' | 'hash' | 'parentHash' | 'timestamp' | 'miner' | 'gasUsed' | 'gasLimit' | 'extraData' | 'baseFeePerGas', Utf8Writer>;
  txs: Record<
    | 'blockNumber' | 'transactionIndex' | 'hash' | 'nonce' | 'from' | 'to' | 'value' | 'input' | 'gas' | 'gasPrice'
    | 'type' | 'maxPriorityFeePerGas' | 'maxFeePerGas' | 'gasUsed' | 'status',
    Utf8Writer
  >;
  logs: Record<'blockNumber' | 'transactionIndex' | 'logIndex' | 'transactionHash' | 'address' | 'data', Utf8Writer> & {
    topics: Utf8ListWriter;
  };
}

function writers(blocks: number, txs: number, logs: number): Writers {
  const w = (rows: number, bytes: number) => new Utf8Writer(rows, bytes);
  return {
    blocks: {
      number: w(blocks, 8), hash: w(blocks, 66), parentHash: w(blocks, 66), timestamp: w(blocks, 10),
      miner: w(blocks, 42), gasUsed: w(blocks, 9), gasLimit: w(blocks, 9), extraData: w(blocks, 18),
      baseFeePerGas: w(blocks, 11),
    },
    txs: {
      blockNumber: w(txs, 8), transactionIndex: w(txs, 4), hash: w(txs, 66), nonce: w(txs, 7), from: w(txs, 42),
      to: w(txs, 42), value: w(txs, 14), input: w(txs, 120), gas: w(txs, 7), gasPrice: w(txs, 11), type: w(txs, 3),
      maxPriorityFeePerGas: w(txs, 10), maxFeePerGas: w(txs, 11), gasUsed: w(txs, 7), status: w(txs, 3),
    },
    logs: {
      blockNumber: w(logs, 8), transactionIndex: w(logs, 4), logIndex: w(logs, 4), transactionHash: w(logs, 66),
      address: w(logs, 42), data: w(logs, 66), topics: new Utf8ListWriter(logs, 3, 66),
    },
  };
}

const finishAll = (group: Record<string, { finish(): Data }>): Record<string, Data> =>
  Object.fromEntries(Object.entries(group).map(([name, w]) => [name, w.finish()]));

/**
 * A deterministic EVM-like chain. Block n's content is a function of (seed, n, the number of
 * injected reorgs that have replaced block n given the current head) only, so any range can be
 * generated in any order or chunking with identical results.
 */
export class SyntheticChain {
  private readonly options: Required<Omit<SyntheticChainOptions, 'now'>>;
  private readonly now: () => number;
  private readonly senders: Uint8Array;
  private readonly contracts: Uint8Array;
  private readonly miners: Uint8Array;
  private readonly events: Uint8Array;
  private readonly selectors: Uint8Array;
  private readonly logsPerContractTx: number;

  constructor(options: SyntheticChainOptions) {
    check('seed', options.seed, Number.MIN_SAFE_INTEGER);
    check('chainId', options.chainId, 1);
    check('blockTimeMs', options.blockTimeMs, 1);
    check('txsPerBlock', options.txsPerBlock, 0, false);
    check('logsPerTx', options.logsPerTx, 0, false);
    check('finalityDepth', options.finalityDepth, 0);
    check('genesisTimestampMs', options.genesisTimestampMs, 0);
    const reorgEvery = options.reorgEvery ?? 0;
    const reorgDepth = options.reorgDepth ?? 3;
    check('reorgEvery', reorgEvery, 0);
    if (reorgEvery > 0) {
      check('reorgDepth', reorgDepth, 1);
      if (reorgDepth >= options.finalityDepth) {
        throw new Error(
          `synthetic chain option reorgDepth (${reorgDepth}) must be below finalityDepth (${options.finalityDepth}): finalized blocks never change`,
        );
      }
    }
    this.options = { ...options, reorgEvery, reorgDepth };
    this.now = options.now ?? Date.now;
    const random = new Random(options.seed, STREAM_POOL);
    this.senders = pool(random, SENDERS, 20);
    this.contracts = pool(random, CONTRACTS, 20);
    this.miners = pool(random, MINERS, 20);
    this.events = pool(random, EVENTS, 32);
    this.selectors = pool(random, SELECTORS, 4);
    this.logsPerContractTx = options.logsPerTx / (CONTRACT_SHARE * (1 - FAILED_SHARE));
  }

  /** Current head height: the highest block whose timestamp is not in the future (-1 before genesis). */
  head(): number {
    const { genesisTimestampMs, blockTimeMs } = this.options;
    return Math.max(-1, Math.floor((this.now() - genesisTimestampMs) / blockTimeMs));
  }

  finalized(): number {
    return Math.max(-1, this.head() - this.options.finalityDepth);
  }

  /** Canonical hash of block n now. */
  blockHash(n: number): string {
    const head = this.head();
    this.checkRange(n, n, head);
    const out = new Uint8Array(66);
    this.writeBlockHash(out, 0, n, this.version(n, head));
    return new TextDecoder().decode(out);
  }

  /**
   * If a reorg replaced blocks that an observer who saw head `since` had seen, the highest block
   * they saw that is still canonical; otherwise undefined.
   */
  forkPoint(since: number): number | undefined {
    const { reorgEvery, reorgDepth } = this.options;
    const head = this.head();
    if (reorgEvery === 0 || since < 0 || since >= head) return undefined;
    const firstReorg = (Math.floor(since / reorgEvery) + 1) * reorgEvery;
    if (firstReorg > head) return undefined;
    const firstReplaced = Math.max(firstReorg - reorgDepth + 1, 1);
    return firstReplaced <= since ? firstReplaced - 1 : undefined;
  }

  /** Raw tables of blocks [from, to] of the current canonical chain. */
  rawSegment(from: number, to: number): RawTables {
    const head = this.head();
    this.checkRange(from, to, head);
    const blocks = to - from + 1;
    const txs = Math.ceil(blocks * this.options.txsPerBlock * 1.1) + 16;
    const w = writers(blocks, txs, Math.ceil(txs * this.options.logsPerTx) + 1);
    for (let n = from; n <= to; n++) this.writeBlock(w, n, head);
    return {
      raw_blocks: rawTable('raw_blocks', finishAll(w.blocks)),
      raw_transactions: rawTable('raw_transactions', finishAll(w.txs)),
      raw_logs: rawTable('raw_logs', finishAll(w.logs)),
    };
  }

  private checkRange(from: number, to: number, head: number): void {
    if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 0 || from > to) {
      throw new Error(`invalid block range [${from}, ${to}]`);
    }
    if (to > head) throw new Error(`block ${to} is above the head ${head}`);
  }

  /**
   * How many injected reorgs have replaced block n when the head is `head`: a reorg at height k
   * (a multiple of reorgEvery, reached by the head) replaces blocks (k - reorgDepth, k], never
   * the genesis.
   */
  private version(n: number, head: number): number {
    const { reorgEvery, reorgDepth } = this.options;
    if (reorgEvery === 0 || n === 0) return 0;
    const lo = Math.max(n, reorgEvery);
    const hi = Math.min(n + reorgDepth - 1, head);
    return hi < lo ? 0 : Math.floor(hi / reorgEvery) - Math.floor((lo - 1) / reorgEvery);
  }

  private writeBlockHash(out: Uint8Array, at: number, n: number, version: number): number {
    out[at] = ZERO;
    out[at + 1] = X;
    if (n < 0) {
      // The genesis block's parent.
      out.fill(ZERO, at + 2, at + 66);
      return at + 66;
    }
    return new Random(this.options.seed, STREAM_HASH, n, version).hex(out, at + 2, 64);
  }

  private writeBlock(w: Writers, n: number, head: number): void {
    const { seed, txsPerBlock, blockTimeMs, genesisTimestampMs } = this.options;
    const version = this.version(n, head);
    const random = new Random(seed, STREAM_BODY, n, version);
    const b = w.blocks;
    const t = w.txs;
    const l = w.logs;

    b.number.pushHexQuantity(n);
    b.hash.commit(this.writeBlockHash(b.hash.bytes, b.hash.reserve(66), n, version));
    b.parentHash.commit(this.writeBlockHash(b.parentHash.bytes, b.parentHash.reserve(66), n - 1, this.version(n - 1, head)));
    b.timestamp.pushHexQuantity(Math.floor((genesisTimestampMs + n * blockTimeMs) / 1000));
    copy(b.miner, this.miners, random.int(MINERS) * 42, 42);
    b.gasLimit.pushHexQuantity(GAS_LIMIT);
    randomHex(b.extraData, random, 8);
    const baseFee = 1_000_000_000 + random.int(60_000_000_000);
    b.baseFeePerGas.pushHexQuantity(baseFee);

    const count = Math.round(txsPerBlock * (0.5 + random.float()));
    let gasUsedInBlock = 0;
    let logIndex = 0;
    for (let i = 0; i < count; i++) {
      t.blockNumber.pushHexQuantity(n);
      t.transactionIndex.pushHexQuantity(i);
      const hashAt = randomHex(t.hash, random, 32);
      t.nonce.pushHexQuantity(random.int(200_000));
      // Squaring skews activity towards the first senders, as on real chains.
      const u = random.float();
      copy(t.from, this.senders, Math.floor(u * u * SENDERS) * 42, 42);

      const kind = random.float();
      const creation = kind < 0.02;
      const contract = kind < CONTRACT_SHARE ? random.int(CONTRACTS) : -1;
      if (creation) t.to.pushNull();
      else if (contract >= 0) copy(t.to, this.contracts, contract * 42, 42);
      else copy(t.to, this.senders, random.int(SENDERS) * 42, 42);

      if (contract >= 0 && !creation && random.float() < 0.6) t.value.pushHexQuantity(0);
      else this.writeValue(t.value, random);

      let gas: number;
      let gasUsed: number;
      if (creation) {
        randomHex(t.input, random, 100 + random.int(400));
        gas = 500_000 + random.int(2_000_000);
        gasUsed = Math.floor(gas * (0.5 + random.float() / 2));
      } else if (contract >= 0) {
        const at = t.input.reserve(10 + 64 * 4);
        const bytes = t.input.bytes;
        const selector = random.int(SELECTORS) * 10;
        for (let k = 0; k < 10; k++) bytes[at + k] = this.selectors[selector + k];
        t.input.commit(random.hex(bytes, at + 10, 64 * random.int(5)));
        gas = 50_000 + random.int(450_000);
        gasUsed = Math.floor(gas * (0.3 + random.float() * 0.7));
      } else {
        t.input.pushString('0x');
        gas = 21_000;
        gasUsed = 21_000;
      }
      t.gas.pushHexQuantity(gas);
      t.gasUsed.pushHexQuantity(gasUsed);
      gasUsedInBlock += gasUsed;

      const type = random.float();
      if (type < 0.7) {
        const tip = random.int(3_000_000_000);
        t.type.pushString('0x2');
        t.maxPriorityFeePerGas.pushHexQuantity(tip);
        t.maxFeePerGas.pushHexQuantity(baseFee * 2 + tip);
        t.gasPrice.pushHexQuantity(baseFee + tip);
      } else {
        t.type.pushString(type < 0.75 ? '0x1' : '0x0');
        t.maxPriorityFeePerGas.pushNull();
        t.maxFeePerGas.pushNull();
        t.gasPrice.pushHexQuantity(baseFee + random.int(5_000_000_000));
      }

      const failed = random.float() < FAILED_SHARE;
      t.status.pushString(failed ? '0x0' : '0x1');
      if (failed || contract < 0) continue;

      const logs = Math.floor(random.float() * (2 * this.logsPerContractTx + 1));
      for (let j = 0; j < logs; j++) {
        l.blockNumber.pushHexQuantity(n);
        l.transactionIndex.pushHexQuantity(i);
        l.logIndex.pushHexQuantity(logIndex++);
        copy(l.transactionHash, t.hash.bytes, hashAt, 66);
        const emitter = creation || random.float() < 0.3 ? random.int(CONTRACTS) : contract;
        copy(l.address, this.contracts, emitter * 42, 42);
        const topics = 1 + random.int(4);
        copy(l.topics.items, this.events, random.int(EVENTS) * 66, 66);
        for (let k = 1; k < topics; k++) {
          if (random.float() < 0.7) {
            // An indexed address, left-padded to 32 bytes.
            const at = l.topics.items.reserve(66);
            const bytes = l.topics.items.bytes;
            bytes[at] = ZERO;
            bytes[at + 1] = X;
            bytes.fill(ZERO, at + 2, at + 26);
            const sender = random.int(SENDERS) * 42 + 2;
            for (let c = 0; c < 40; c++) bytes[at + 26 + c] = this.senders[sender + c];
            l.topics.items.commit(at + 66);
          } else {
            randomHex(l.topics.items, random, 32);
          }
        }
        l.topics.endList();
        randomHex(l.data, random, 32 * random.int(4));
      }
    }
    b.gasUsed.pushHexQuantity(gasUsedInBlock);
  }

  /** A wei amount spread log-uniformly over 1 to 20 hex digits: about a fifth above 2^64. */
  private writeValue(w: Utf8Writer, random: Random): void {
    const digits = 1 + random.int(20);
    const at = w.reserve(2 + digits);
    const b = w.bytes;
    b[at] = ZERO;
    b[at + 1] = X;
    b[at + 2] = '123456789abcdef'.charCodeAt(random.int(15));
    w.commit(random.hex(b, at + 3, digits - 1));
  }
}

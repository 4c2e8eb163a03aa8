import type { RawTables } from '@chainlake/chain-evm';
import { Pools, SegmentGenerator, SegmentWriters } from './segment.js';

/** A segment's tables whose memory the chain reuses for later segments once released. */
export interface RawSegmentLease {
  readonly tables: RawTables;
  /** The tables must not be read after this. */
  release(): void;
}

/** Released writers kept for later leases; more are only needed while a lease is held over another's generation. */
const MAX_SPARE_WRITERS = 2;

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

function check(name: string, value: number | undefined, min: number, integer = true): void {
  if (value === undefined || !Number.isFinite(value) || value < min || (integer && !Number.isSafeInteger(value))) {
    throw new Error(`synthetic chain option ${name} must be ${integer ? 'an integer' : 'a number'} >= ${min}, got ${value}`);
  }
}

/**
 * A deterministic EVM-like chain. Block n's content is a function of (seed, n, the number of
 * injected reorgs that have replaced block n given the current head) only, so any range can be
 * generated in any order or chunking with identical results.
 */
export class SyntheticChain {
  private readonly options: Required<Omit<SyntheticChainOptions, 'now'>>;
  private readonly now: () => number;
  private readonly generator: SegmentGenerator;
  private readonly spareWriters: SegmentWriters[] = [];

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
    this.generator = new SegmentGenerator(this.options, new Pools(options.seed));
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
    return this.generator.blockHash(n, this.version(n, head));
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

  /** Raw tables of blocks [from, to] of the current canonical chain, in memory of their own. */
  rawSegment(from: number, to: number): RawTables {
    return this.generate(from, to, new SegmentWriters(to - from + 1, this.options));
  }

  /**
   * The same tables in memory that later leases reuse once this one is released: for a caller
   * that copies them and lets them go, as the source's spool does with every segment.
   */
  leaseRawSegment(from: number, to: number): RawSegmentLease {
    const writers = this.spareWriters.pop() ?? new SegmentWriters(to - from + 1, this.options);
    const tables = this.generate(from, to, writers);
    let released = false;
    return {
      tables,
      release: () => {
        if (released) return;
        released = true;
        if (this.spareWriters.length < MAX_SPARE_WRITERS) this.spareWriters.push(writers);
      },
    };
  }

  private generate(from: number, to: number, writers: SegmentWriters): RawTables {
    const head = this.head();
    this.checkRange(from, to, head);
    this.generator.begin(writers);
    for (let n = from; n <= to; n++) this.generator.writeBlock(n, this.version(n, head), this.version(n - 1, head));
    return this.generator.finish();
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
}

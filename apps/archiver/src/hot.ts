import { consumeDurable, followSubject, HeadMessage, ReorgMessage, type Bus, type Stored } from '@chainlake/bus';
import { HotStore } from '@chainlake/hot';
import { joinPostgres } from '@chainlake/postgres';
import { dataset as datasetDef } from '@chainlake/schema';
import type { ServiceContext } from '@chainlake/service';
import type { Table } from 'apache-arrow';
import { rowsInBlockRange } from './archive.js';
import type { ArchiverConfig } from './config.js';
import { FinalityView, ReorgedBlocks, splitAtFinalized } from './finality.js';
import { mergeRanges, type Range } from './ranges.js';

/** Typed rows of blocks [from, to], one table per dataset, sorted by block number. */
export interface Piece { from: number; to: number; tables: Record<string, Table> }

export function slicePiece(piece: Piece, from: number, to: number): Piece {
  if (from === piece.from && to === piece.to) return piece;
  const tables = Object.fromEntries(Object.entries(piece.tables).map(([name, table]) => [name, rowsInBlockRange(table, from, to)]));
  return { from, to, tables };
}

export interface HotTierOptions {
  store: HotStore;
  chain: string;
  /** Datasets written; `blocks` among them enables the parent-hash check. */
  datasets: readonly string[];
  finality: FinalityView;
  reorged: ReorgedBlocks;
  /** Blocks [from, to] as the chain has them now (a re-production through the transformer). */
  refetch(from: number, to: number): Promise<Piece[]>;
  announce(message: Stored): Promise<void>;
  /** Resolves once the finalized height is known and the reorg history is read: routing can begin. */
  ready: Promise<void>;
  ctx: Pick<ServiceContext<unknown>, 'log' | 'metrics'>;
}

/** A resync widens downwards at most this far looking for the hot block the fresh chain links to. */
const MAX_RESYNC_BLOCKS = 2_000;

/**
 * Finality routing and the hot tier. Blocks at or below the finalized height go to Parquet, blocks above it to
 * PostgreSQL, where a reorg deletes them and takes the blocks as the chain now has them. The callers serialise
 * `write` and `reorg` (one at a time).
 */
export class HotTier {
  private readonly hotRows;
  private readonly deletedRows;
  private readonly reorgs;
  private readonly refetchedBlocks;
  private readonly checkLinks: boolean;
  private ready = false;

  constructor(private readonly options: HotTierOptions) {
    const { metrics } = options.ctx;
    this.hotRows = metrics.counter('hot_rows_written_total', 'Rows written to the PostgreSQL hot tier', ['dataset']);
    this.deletedRows = metrics.counter('hot_rows_deleted_total', 'Hot rows deleted because a reorg replaced their blocks');
    this.reorgs = metrics.counter('reorgs_total', 'Reorgs applied to the hot tier, by what revealed them', ['cause']);
    this.refetchedBlocks = metrics.counter('refetched_blocks_total', 'Blocks re-fetched as the chain has them now', ['reason']);
    this.checkLinks = options.datasets.includes('blocks');
    void options.ready.then(() => (this.ready = true));
  }

  /** Waits until routing can begin; false if `signal` aborts first (shutdown). */
  async waitUntilReady(signal: AbortSignal): Promise<boolean> {
    if (this.ready) return true;
    if (signal.aborted) return false;
    const aborted = new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    await Promise.race([this.options.ready, aborted]);
    return this.ready;
  }

  /**
   * The pieces to write, split at the finalized height. Blocks a known reorg replaced are taken from a fresh
   * re-production instead of the segment, which may predate the reorg.
   */
  async route(pieces: readonly Piece[]): Promise<{ cold: Piece[]; hot: Piece[] }> {
    const finalized = this.options.finality.finalized;
    if (finalized === undefined) throw new Error('finalized height unknown: no head message yet');
    const taken: Piece[] = [];
    const replaced: Range[] = [];
    for (const piece of pieces) {
      for (const part of this.options.reorged.split({ start: piece.from, end: piece.to })) {
        if (part.reorged) replaced.push(part);
        else taken.push(slicePiece(piece, part.start, part.end));
      }
    }
    for (const range of mergeRanges(replaced)) {
      this.refetchedBlocks.inc({ reason: 'reorged' }, range.end - range.start + 1);
      taken.push(...(await this.options.refetch(range.start, range.end)));
    }
    const cold: Piece[] = [];
    const hot: Piece[] = [];
    for (const piece of taken) {
      const split = splitAtFinalized({ start: piece.from, end: piece.to }, finalized);
      if (split.cold) cold.push(slicePiece(piece, split.cold.start, split.cold.end));
      if (split.hot) hot.push(slicePiece(piece, split.hot.start, split.hot.end));
    }
    return { cold, hot };
  }

  /**
   * Writes pieces to the hot tables, each replacing its block range. A piece whose first block does not link to
   * the hot block below it, or whose last block is not the parent of the hot block above it, reveals a reorg
   * nobody announced (or a stale segment): the hot blocks around it are re-fetched and replaced instead.
   */
  async write(pieces: readonly Piece[]): Promise<void> {
    for (const piece of [...pieces].sort((a, b) => a.from - b.from)) {
      if (this.checkLinks && (await this.breaksChain(piece))) await this.resync(piece.from, piece.to);
      else await this.replace(piece);
    }
  }

  /**
   * A reorg seen at `head`: hot rows of blocks (forkPoint, head] are void. They are deleted, and the blocks taken
   * as they are now. Hot blocks above `head` were produced after the reorg (no block is produced before the head
   * reaches it), so they stand, however late the event is handled.
   */
  async reorg(forkPoint: number, head: number): Promise<void> {
    const { store, finality, ctx } = this.options;
    const finalized = finality.finalized;
    if (finalized !== undefined && forkPoint < finalized) {
      ctx.log.error({ forkPoint, finalized }, 'reorg below the finalized height: only the hot tier is rolled back, Parquet is never rewritten');
    }
    const deleted = await store.deleteAbove(forkPoint, head);
    this.reorgs.inc({ cause: 'event' });
    this.deletedRows.inc(deleted.rows);
    ctx.log.info({ forkPoint, head, rowsDeleted: deleted.rows, through: deleted.maxBlock }, 'reorg: hot rows above the fork point deleted');
    if (deleted.maxBlock === undefined) return;
    this.refetchedBlocks.inc({ reason: 'reorg' }, deleted.maxBlock - forkPoint);
    for (const piece of await this.options.refetch(forkPoint + 1, deleted.maxBlock)) await this.replace(piece);
  }

  private async breaksChain(piece: Piece): Promise<boolean> {
    const blocks = piece.tables.blocks;
    if (!blocks || blocks.numRows === 0) return false;
    const numbers = blocks.getChild('block_number')!;
    const first = Number(numbers.get(0));
    const last = Number(numbers.get(blocks.numRows - 1));
    const links = await this.options.store.blockLinks(first - 1, last + 1);
    const below = links.get(first - 1);
    const above = links.get(last + 1);
    const broken =
      (below !== undefined && below.hash !== String(blocks.getChild('parent_hash')!.get(0))) ||
      (above !== undefined && above.parentHash !== String(blocks.getChild('block_hash')!.get(blocks.numRows - 1)));
    if (broken) this.options.ctx.log.warn({ from: piece.from, to: piece.to }, 'parent hashes do not link with the hot tier: treating it as a reorg');
    return broken;
  }

  /**
   * Replaces hot blocks from `from` (lower if the block below does not link to the fresh chain) up to the highest
   * hot block with blocks re-fetched now: after it the hot tier is one linked chain again.
   */
  private async resync(from: number, to: number): Promise<void> {
    const { store, refetch, ctx } = this.options;
    this.reorgs.inc({ cause: 'parent_hash' });
    const heights = await store.heights('blocks');
    const hi = Math.max(to, heights?.max ?? to);
    let lo = from;
    const fresh = await refetch(lo, hi);
    while (heights !== undefined && lo - 1 >= heights.min && hi - lo < MAX_RESYNC_BLOCKS) {
      const below = (await store.blockLinks(lo - 1, lo - 1)).get(lo - 1);
      const lowest = fresh[0].tables.blocks;
      if (below === undefined || below.hash === String(lowest.getChild('parent_hash')!.get(0))) break;
      const next = Math.max(heights.min, lo - Math.max(8, hi - lo + 1));
      fresh.unshift(...(await refetch(next, lo - 1)));
      lo = next;
    }
    this.refetchedBlocks.inc({ reason: 'parent_hash' }, hi - lo + 1);
    ctx.log.info({ from: lo, to: hi }, 'hot blocks re-fetched and replaced after a parent-hash mismatch');
    for (const piece of fresh) await this.replace(piece);
  }

  /** Replaces the piece's block range in every hot table; blocks last, so a block seen there has all its rows. */
  private async replace(piece: Piece): Promise<void> {
    const { store, datasets } = this.options;
    const order = [...datasets.filter((d) => d !== 'blocks'), ...datasets.filter((d) => d === 'blocks')];
    for (const dataset of order) {
      const rows = await store.writeRange(dataset, piece.from, piece.to, piece.tables[dataset]);
      this.hotRows.inc({ dataset }, rows);
      await this.options.announce({ v: 1, chain: this.options.chain, tier: 'hot', dataset, from: piece.from, to: piece.to, rows });
    }
  }
}

export interface HotTierDeps {
  bus: Bus;
  datasets: readonly string[];
  refetch(from: number, to: number): Promise<Piece[]>;
  announce(message: Stored): Promise<void>;
  /** Runs `fn` when no flush is running: reorgs and flushes never interleave. */
  exclusive(fn: () => Promise<void>): Promise<void>;
}

/**
 * The hot tier of a service: the PostgreSQL tables, the finalized height from head messages, the reorg history
 * replayed from the events stream (every replica), and a durable consumer `archiver_reorg` that rolls the hot
 * tier back on each reorg (one replica).
 */
export async function startHotTier(ctx: ServiceContext<ArchiverConfig>, deps: HotTierDeps): Promise<HotTier> {
  const { config, log, metrics } = ctx;
  const { bus, datasets } = deps;
  const chain = config.CHAINLAKE_CHAIN;
  const invalid = metrics.counter('invalid_messages_total', 'Messages rejected as invalid and dead-lettered');
  const finalizedGauge = metrics.gauge('finalized_block', 'Finalized height from head messages: blocks above it go to the hot tier');

  const pool = await joinPostgres(ctx);
  const store = new HotStore({ pool, schema: config.CHAINLAKE_POSTGRES_SCHEMA, chain });
  await store.ensureTables(datasets.map((d) => datasetDef(d)));

  const finality = new FinalityView();
  const heads = bus.nc.subscribe(bus.subjects.head(chain), {
    callback: (err, msg) => {
      if (err) return;
      try {
        finality.observe(HeadMessage.decode(msg.data).finalized);
        finalizedGauge.set(finality.finalized!);
      } catch (error) {
        invalid.inc();
        log.warn({ err: String(error) }, 'invalid head message ignored');
      }
    },
  });
  ctx.onShutdown(() => heads.unsubscribe());

  const reorged = new ReorgedBlocks();
  const history = await followSubject(bus, {
    stream: bus.streams.events,
    subject: bus.subjects.reorg(chain),
    codec: ReorgMessage,
    onMessage: (m) => reorged.add(m.forkPoint, m.head),
    onInvalid: () => invalid.inc(),
  });
  ctx.onShutdown(() => history.stop());

  const tier = new HotTier({
    store, chain, datasets, finality, reorged, refetch: deps.refetch, announce: deps.announce, ctx,
    ready: Promise.all([finality.known, history.caughtUp]).then(() => log.info({ finalized: finality.finalized, reorgs: reorged.size }, 'finality known: routing blocks above it to the hot tier')),
  });

  const reorgs = await consumeDurable(bus, {
    stream: bus.streams.events,
    durable: 'archiver_reorg',
    filterSubject: bus.subjects.reorg(chain),
    codec: ReorgMessage,
    service: 'archiver',
    ackWaitMs: config.CHAINLAKE_ACK_WAIT_MS,
    onInvalid: (err) => {
      invalid.inc();
      log.warn({ err: err.message }, 'invalid reorg message dead-lettered');
    },
    handler: async (msg, delivery) => {
      reorged.add(msg.forkPoint, msg.head);
      await deps.exclusive(() => tier.reorg(msg.forkPoint, msg.head));
      delivery.ack();
    },
  });
  ctx.onShutdown(() => reorgs.stop());
  ctx.readiness('reorg_consumer', () => reorgs.running);
  return tier;
}

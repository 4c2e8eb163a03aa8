import { setTimeout as sleep } from 'node:timers/promises';
import {
  checkpoints, joinBus, ensureStreams, HeadMessage, publishCore, publishDurable, RawSegmentMessage,
  ReorgMessage, ReproduceReply, ReproduceRequest, serveRequests,
} from '@chainlake/bus';
import { rawDatasetNames } from '@chainlake/chain-evm';
import { SyntheticChain, syntheticOptionsFromEnv } from '@chainlake/chain-synthetic';
import { segmentKey, segmentTickets, startProducer } from '@chainlake/segments';
import type { ServiceContext } from '@chainlake/service';
import { tableBytes } from '@chainlake/spool';
import type { Table } from 'apache-arrow';
import type { SourceConfig } from './config.js';
import { ReorgTracker } from './reorg.js';

export async function startSource(ctx: ServiceContext<SourceConfig>): Promise<void> {
  const { config, log, metrics } = ctx;
  const chainName = config.CHAINLAKE_CHAIN;
  const chain = new SyntheticChain(syntheticOptionsFromEnv(process.env));

  const produced = metrics.counter('blocks_produced_total', 'Blocks announced as raw segments');
  const segments = metrics.counter('segments_produced_total', 'Raw segments announced', ['reason']);
  const rows = metrics.counter('rows_produced_total', 'Raw rows announced', ['dataset']);
  const headGauge = metrics.gauge('head_block', 'Chain head height as last seen');
  const lagGauge = metrics.gauge('lag_blocks', 'Blocks between the chain head and the next block to produce');
  const spoolBytes = metrics.gauge('spool_bytes', 'Bytes held in the spool', ['tier']);
  const reorgs = metrics.counter('reorgs_total', 'Reorganisations detected');

  const bus = await joinBus(ctx);
  await ensureStreams(bus);
  const cp = await checkpoints(bus);

  const rawSubject = bus.subjects.rawSegments(chainName);
  const { spool, flight } = await startProducer(ctx, bus, bus.streams.raw, rawSubject);

  // A segment that ends behind the head (a backfill, or catching up) waits for room in the spool's
  // memory rather than spilling to disk: the disk tier absorbs a consumer outage at the tip.
  const produce = async (from: number, to: number, reason: 'new' | 'reproduced', atTip = true): Promise<Record<string, string>> => {
    // A new segment's memory is reused for the next one once the spool has copied it; a
    // re-production, rare and possibly 10× larger, gets memory of its own.
    const segment = reason === 'new' ? chain.leaseRawSegment(from, to) : { tables: chain.rawSegment(from, to), release: () => {} };
    const raw = segment.tables as unknown as Record<string, Table>;
    const rowsOf = Object.entries(raw).map(([name, table]) => [name, table.numRows] as const);
    const bytes = Object.values(raw).reduce((sum, table) => sum + tableBytes(table), 0);
    const key = segmentKey({ chain: chainName, from, to });
    await spool.put(key, raw, { ...(reason === 'reproduced' ? { urgent: true, ttlMs: 120_000 } : { signal: ctx.signal, spill: atTip }), memory: segment });
    const usage = spool.usage();
    spoolBytes.set({ tier: 'memory' }, usage.memoryBytes);
    spoolBytes.set({ tier: 'disk' }, usage.diskBytes);
    segments.inc({ reason });
    const tickets = segmentTickets(key, rawDatasetNames);
    if (reason === 'new') {
      let rowCount = 0;
      for (const [name, count] of rowsOf) {
        rows.inc({ dataset: name }, count);
        rowCount += count;
      }
      const headHash = chain.blockHash(to);
      const { seq } = await publishDurable(bus, rawSubject, RawSegmentMessage, {
        v: 1, chain: chainName, from, to, blocks: to - from + 1, rows: rowCount, bytes, headHash, location: flight.location, tickets,
      }, `raw:${key}:${headHash}`);
      spool.markAnnounced(key, seq);
      produced.inc(to - from + 1);
    }
    return tickets;
  };

  const reproducer = serveRequests(bus, bus.subjects.control('source', 'reproduce'), {
    queue: 'source',
    request: ReproduceRequest,
    reply: ReproduceReply,
    errorReply: (error) => ({ v: 1, ok: false, error }),
    handler: async (req) => {
      if (req.chain !== chainName) return { v: 1, ok: false, error: `this source serves chain "${chainName}", not "${req.chain}"` };
      if (req.to > chain.head()) return { v: 1, ok: false, error: `block ${req.to} is above the chain head ${chain.head()}` };
      const maxBlocks = Math.max(10 * config.CHAINLAKE_SEGMENT_BLOCKS, 1000);
      if (req.to - req.from + 1 > maxBlocks) {
        return { v: 1, ok: false, error: `${req.to - req.from + 1} blocks requested; re-production is limited to ${maxBlocks} blocks at once` };
      }
      const tickets = await produce(req.from, req.to, 'reproduced');
      log.info({ from: req.from, to: req.to }, 'segment re-produced on request');
      return { v: 1, ok: true, location: flight.location, tickets };
    },
  });
  ctx.onShutdown(() => reproducer.stop());

  // Each producing range has its own checkpoint, so a backfill and a tip follower can run side by side.
  const checkpointKey = `source.${chainName}.${config.CHAINLAKE_BACKFILL_FROM ?? 'tip'}-${config.CHAINLAKE_BACKFILL_TO ?? 'follow'}`;
  const saved = await cp.get(checkpointKey);
  let next = saved !== undefined ? Math.max(Number(saved), config.CHAINLAKE_BACKFILL_FROM ?? 0) : config.CHAINLAKE_BACKFILL_FROM ?? chain.head();
  const last = config.CHAINLAKE_BACKFILL_TO;
  log.info({ next, last: last ?? 'follow', resumed: saved !== undefined }, 'source starting');

  const reorgTracker = new ReorgTracker(chain.finalized.bind(chain));

  const loop = async (): Promise<void> => {
    let lastCut = Date.now();
    let announcedDone = false;
    while (!ctx.signal.aborted) {
      const head = chain.head();
      headGauge.set(head);
      lagGauge.set(Math.max(0, head - next + 1));
      publishCore(bus, bus.subjects.head(chainName), HeadMessage, { v: 1, chain: chainName, head, finalized: chain.finalized(), at: new Date().toISOString() });

      const forkPoint = reorgTracker.check((n) => chain.blockHash(n));
      if (forkPoint !== undefined && forkPoint < next - 1) {
        reorgs.inc();
        log.warn({ forkPoint, next }, 'reorg detected: re-producing the blocks above the fork point');
        await publishDurable(bus, bus.subjects.reorg(chainName), ReorgMessage, { v: 1, chain: chainName, forkPoint, head, at: new Date().toISOString() });
        next = forkPoint + 1;
        await cp.put(checkpointKey, String(next));
      }

      const end = last === undefined ? head : Math.min(last, head);
      if (next > end) {
        if (last !== undefined && next > last && !announcedDone) {
          announcedDone = true;
          log.info({ last }, 'backfill complete');
        }
        await sleep(config.CHAINLAKE_POLL_INTERVAL_MS, undefined, { signal: ctx.signal }).catch(() => undefined);
        continue;
      }
      const atTip = end === head;
      const full = end - next + 1 >= config.CHAINLAKE_SEGMENT_BLOCKS;
      if (!full && atTip && Date.now() - lastCut < config.CHAINLAKE_SEGMENT_INTERVAL_MS) {
        await sleep(config.CHAINLAKE_POLL_INTERVAL_MS, undefined, { signal: ctx.signal }).catch(() => undefined);
        continue;
      }
      const to = Math.min(next + config.CHAINLAKE_SEGMENT_BLOCKS - 1, end);
      await produce(next, to, 'new', to === head);
      reorgTracker.remember(next, to, (n) => chain.blockHash(n));
      next = to + 1;
      lastCut = Date.now();
      await cp.put(checkpointKey, String(next));
    }
  };
  const running = loop().catch((err) => {
    if (ctx.signal.aborted) return;
    log.error({ err: String(err), stack: (err as Error).stack }, 'source loop failed');
    process.exitCode = 1;
    process.kill(process.pid, 'SIGTERM');
  });
  ctx.onShutdown(() => running);
}

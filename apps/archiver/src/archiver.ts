import { SlabArena, type ArenaLease } from '@chainlake/arena';
import {
  joinBus, consumeDurable, ensureStreams, ReproduceReply, ReproduceRequest, request, TypedSegmentMessage,
  type Bus, type Delivery,
} from '@chainlake/bus';
import { RestCatalogClient, RestCatalogError } from '@chainlake/iceberg';
import { LocalWarehouse, ManifestStore } from '@chainlake/lake';
import { parsePartitionScheme } from '@chainlake/partitioning';
import { dataset as datasetDef } from '@chainlake/schema';
import { SegmentFetcher, type SegmentLocation } from '@chainlake/segments';
import type { ServiceContext } from '@chainlake/service';
import type { Table } from 'apache-arrow';
import { archiveSegments, blockTimestamps, reconcileTable, type ArchiveTarget, type SegmentRows } from './archive.js';
import type { ArchiverConfig } from './config.js';
import { IcebergTable } from './iceberg.js';
import { startHotTier, type Piece } from './hot.js';
import { coldAnnouncements, storedAnnouncer } from './stored.js';

/** A fetched segment waiting for a flush; its tables live in `memory` until the flush is over. */
interface Buffered { from: number; to: number; tables: Record<string, Table>; delivery: Delivery; memory: ArenaLease }

/** Blocks re-fetched at once: well within what the source re-produces in one request. */
const REFETCH_BLOCKS = 500;

async function reproduceTyped(bus: Bus, chain: string, from: number, to: number): Promise<SegmentLocation> {
  const reply = await request(bus, bus.subjects.control('transformer', 'reproduce'), ReproduceRequest, ReproduceReply, { v: 1, chain, from, to }, 90_000);
  if (!reply.ok) throw new Error(`transformer could not re-produce ${chain}:${from}-${to}: ${reply.error}`);
  return reply;
}

/** Opens the table, waiting for the catalog while it cannot be reached (it may start after the archiver). */
async function openWhenReachable(table: IcebergTable, ctx: ServiceContext<ArchiverConfig>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await table.open();
    } catch (err) {
      if (!(err instanceof RestCatalogError && err.status === 0) || ctx.signal.aborted) throw err;
      if (attempt === 1 || attempt % 10 === 0) ctx.log.warn({ table: table.name, err: err.message }, 'catalog not reachable yet; retrying every second');
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

export async function startArchiver(ctx: ServiceContext<ArchiverConfig>): Promise<void> {
  const { config, log, metrics } = ctx;
  const chainName = config.CHAINLAKE_CHAIN;
  const datasets = config.CHAINLAKE_DATASETS.split(',').map((d) => datasetDef(d.trim()).name);
  const scheme = parsePartitionScheme(config.CHAINLAKE_PARTITION);

  const rowsWritten = metrics.counter('rows_written_total', 'Rows written to Parquet', ['dataset']);
  const filesWritten = metrics.counter('files_written_total', 'Parquet files published', ['dataset']);
  const bytesWritten = metrics.counter('bytes_written_total', 'Parquet bytes published', ['dataset']);
  const segmentsArchived = metrics.counter('segments_archived_total', 'Typed segments made durable and acked');
  const failures = metrics.counter('flush_failures_total', 'Flushes that failed; their segments are redelivered');
  const invalid = metrics.counter('invalid_messages_total', 'Messages rejected as invalid and dead-lettered');
  const bufferedRows = metrics.gauge('buffered_rows', 'Rows waiting for the next flush');
  const flushSeconds = metrics.histogram('flush_seconds', 'Time to write and record one flush', [], [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);

  const warehouse = new LocalWarehouse(config.CHAINLAKE_WAREHOUSE);
  const manifests = new ManifestStore(warehouse);
  const parquet = {
    compression: config.CHAINLAKE_PARQUET_COMPRESSION,
    rowGroupRows: config.CHAINLAKE_PARQUET_ROW_GROUP_ROWS,
    minSavingPercent: config.CHAINLAKE_PARQUET_MIN_SAVING_PCT,
  };
  const catalog = config.CHAINLAKE_CATALOG_URL !== 'none'
    ? new RestCatalogClient({ uri: config.CHAINLAKE_CATALOG_URL, token: config.CHAINLAKE_AUTH_TOKEN || undefined })
    : undefined;
  const targets = new Map<string, ArchiveTarget>(
    datasets.map((name) => [name, {
      warehouse, manifests, namespace: chainName, table: name, scheme, parquet, maxRowsPerFile: config.CHAINLAKE_PARQUET_ROWS_PER_FILE,
      iceberg: catalog && new IcebergTable(catalog, chainName, datasetDef(name), scheme, warehouse.tableDir(chainName, name)),
    }]),
  );
  const cleared = await warehouse.clearStaging();
  for (const target of targets.values()) {
    if (target.iceberg) await openWhenReachable(target.iceberg, ctx);
    const { adopted, committed } = await reconcileTable(target);
    if (adopted > 0 || committed > 0 || cleared > 0) log.info({ table: target.table, adopted, committed, stagingCleared: cleared }, 'recovered after an unclean stop');
  }

  const bus = await joinBus(ctx);
  await ensureStreams(bus);
  const fetcher = new SegmentFetcher();
  ctx.onShutdown(() => fetcher.close());
  // Fetched segments stay for up to a flush interval: taken from reused memory, they do not
  // drive V8's external-memory collections (docs/architecture.md, "Garbage collection").
  const arena = new SlabArena({ maxBytes: config.CHAINLAKE_ARCHIVER_ARENA_MB * 1024 * 1024 });
  const arenaGauges = {
    slabBytes: metrics.gauge('arena_bytes', 'Memory held for fetched segments (reused slabs)'),
    leasedBytes: metrics.gauge('arena_leased_bytes', 'Arena memory holding segments that wait for a flush'),
    overflowBytes: metrics.gauge('arena_overflow_bytes', 'Bytes fetched into plain allocations because the arena was full, since the start'),
  };
  const reportArena = (): void => {
    for (const [key, value] of Object.entries(arena.usage())) arenaGauges[key as keyof typeof arenaGauges].set(value);
  };

  let buffer: Buffered[] = [];
  let buffered = 0;
  let flushing: Promise<void> = Promise.resolve();
  /** Runs `fn` after every flush (or reorg) queued before it: writes never interleave. */
  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = flushing.then(fn);
    flushing = run.then(() => undefined, () => undefined);
    return run;
  };
  const needed = scheme.kind === 'date' && !datasets.includes('blocks') ? [...datasets, 'blocks'] : datasets;
  /** Blocks [from, to] as the chain has them now, re-produced through the transformer. */
  const refetch = async (from: number, to: number): Promise<Piece[]> => {
    const pieces: Piece[] = [];
    for (let start = from; start <= to; start += REFETCH_BLOCKS) {
      const end = Math.min(to, start + REFETCH_BLOCKS - 1);
      const reproduce = () => reproduceTyped(bus, chainName, start, end);
      pieces.push({ from: start, to: end, tables: await fetcher.fetch(await reproduce(), needed, reproduce) });
    }
    return pieces;
  };
  const announce = storedAnnouncer(bus, ctx);
  const hotTier = config.CHAINLAKE_ARCHIVER_HOT_TIER ? await startHotTier(ctx, { bus, datasets, refetch, announce, exclusive }) : undefined;

  const flushNow = async (): Promise<void> => {
    const batch = buffer;
    buffer = [];
    buffered = 0;
    bufferedRows.set(0);
    if (batch.length === 0) return;
    const started = performance.now();
    try {
      if (hotTier && !(await hotTier.waitUntilReady(ctx.signal))) {
        for (const b of batch) b.delivery.nak();
        return;
      }
      // With the hot tier, blocks at or below the finalized height go to Parquet, the others to PostgreSQL.
      const pieces: Piece[] = batch.map((b) => ({ from: b.from, to: b.to, tables: b.tables }));
      const { cold, hot } = hotTier ? await hotTier.route(pieces) : { cold: pieces, hot: [] };
      const times = cold.map((p) => (scheme.kind === 'date' ? blockTimestamps(p.tables.blocks) : new Map<number, bigint>()));
      await Promise.all([...targets].map(async ([name, target]) => {
        if (cold.length === 0) return;
        const segments: SegmentRows[] = cold.map((p, i) => ({ from: p.from, to: p.to, table: p.tables[name], blockTimestamps: times[i] }));
        const files = await archiveSegments(target, segments);
        for (const f of files) {
          rowsWritten.inc({ dataset: name }, f.rows);
          bytesWritten.inc({ dataset: name }, f.bytes);
          filesWritten.inc({ dataset: name });
        }
        for (const message of coldAnnouncements(chainName, chainName, name, files)) await announce(message);
      }));
      if (hot.length > 0) await hotTier!.write(hot);
      for (const b of batch) b.delivery.ack();
      segmentsArchived.inc(batch.length);
      flushSeconds.observe((performance.now() - started) / 1000);
      log.info({ segments: batch.length, from: Math.min(...batch.map((b) => b.from)), to: Math.max(...batch.map((b) => b.to)) }, 'flushed');
    } catch (err) {
      failures.inc();
      log.error({ err: String(err), stack: (err as Error).stack }, 'flush failed; segments handed back for redelivery');
      for (const b of batch) b.delivery.nak(2000);
    } finally {
      for (const b of batch) b.memory.release();
      reportArena();
    }
  };
  const flush = (): Promise<void> => exclusive(flushNow);

  // A buffer is written once it holds FLUSH_ROWS rows or its oldest segment is FLUSH_INTERVAL_MS old.
  let oldestBufferedAt = 0;
  const timer = setInterval(() => {
    if (buffer.length > 0 && Date.now() - oldestBufferedAt >= config.CHAINLAKE_ARCHIVER_FLUSH_INTERVAL_MS) void flush();
  }, Math.min(250, config.CHAINLAKE_ARCHIVER_FLUSH_INTERVAL_MS));
  ctx.onShutdown(async () => {
    clearInterval(timer);
    await flush();
  });

  const consumer = await consumeDurable(bus, {
    stream: bus.streams.typed,
    durable: 'archiver',
    filterSubject: bus.subjects.typedSegments(chainName),
    codec: TypedSegmentMessage,
    service: 'archiver',
    ackWaitMs: config.CHAINLAKE_ACK_WAIT_MS,
    maxAckPending: 10_000,
    concurrency: config.CHAINLAKE_ARCHIVER_CONCURRENCY,
    onInvalid: (err) => {
      invalid.inc();
      log.warn({ err: err.message }, 'invalid typed segment message dead-lettered');
    },
    handler: async (msg, delivery) => {
      let tables: Record<string, Table>;
      const memory = arena.lease();
      try {
        tables = await fetcher.fetch(msg, needed, () => reproduceTyped(bus, msg.chain, msg.from, msg.to), memory.allocate);
      } catch (err) {
        memory.release();
        log.warn({ segment: `${msg.chain}:${msg.from}-${msg.to}`, err: String(err) }, 'could not fetch typed segment; redelivery later');
        delivery.nak(2000);
        return;
      }
      const rows = datasets.reduce((sum, d) => sum + tables[d].numRows, 0);
      if (buffer.length === 0) oldestBufferedAt = Date.now();
      reportArena();
      buffer.push({ from: msg.from, to: msg.to, tables, delivery, memory });
      buffered += rows;
      bufferedRows.set(buffered);
      if (buffered >= config.CHAINLAKE_ARCHIVER_FLUSH_ROWS) await flush();
    },
  });
  // Registered last so it runs first on shutdown: stop taking segments, then flush what is buffered.
  ctx.onShutdown(() => consumer.stop());
  ctx.readiness('consumer', () => consumer.running);
}

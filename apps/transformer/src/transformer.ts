import {
  joinBus, consumeDurable, ensureStreams, publishDurable, RawSegmentMessage, ReproduceReply, ReproduceRequest,
  request, serveRequests, TypedSegmentMessage, type Bus,
} from '@chainlake/bus';
import { SlabArena } from '@chainlake/arena';
import { decode, rawDatasetNames, type RawTables } from '@chainlake/chain-evm';
import { RowError } from '@chainlake/schema';
import { SegmentFetcher, segmentKey, segmentTickets, startProducer, type SegmentLocation } from '@chainlake/segments';
import type { ServiceContext } from '@chainlake/service';
import { tableBytes } from '@chainlake/spool';
import type { Table } from 'apache-arrow';
import type { TransformerConfig } from './config.js';

/** Reused memory per segment decoded at once: a default raw segment (100 blocks) is ~10–20 MB. */
const RAW_ARENA_MB_PER_SEGMENT = 32;

/** Asks the source (any replica) to produce a raw segment again, for when its spool lost it. */
async function reproduceRaw(bus: Bus, chain: string, from: number, to: number): Promise<SegmentLocation> {
  const reply = await request(bus, bus.subjects.control('source', 'reproduce'), ReproduceRequest, ReproduceReply, { v: 1, chain, from, to }, 60_000);
  if (!reply.ok) throw new Error(`source could not re-produce ${chain}:${from}-${to}: ${reply.error}`);
  return reply;
}

export async function startTransformer(ctx: ServiceContext<TransformerConfig>): Promise<void> {
  const { config, log, metrics } = ctx;
  const chainName = config.CHAINLAKE_CHAIN;
  const segmentsDone = metrics.counter('segments_transformed_total', 'Raw segments decoded into typed datasets');
  const rowsOut = metrics.counter('rows_transformed_total', 'Typed rows produced', ['dataset']);
  const failures = metrics.counter('segment_failures_total', 'Segments that failed and were handed back for redelivery');
  const invalid = metrics.counter('invalid_messages_total', 'Messages rejected as invalid and dead-lettered');
  const deadLettered = metrics.counter('segments_dead_lettered_total', 'Raw segments whose data could not be decoded, dead-lettered');
  const decodeSeconds = metrics.histogram('decode_seconds', 'Time to decode one raw segment', [], [0.005, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5]);

  const bus = await joinBus(ctx);
  await ensureStreams(bus);

  const typedSubject = bus.subjects.typedSegments(chainName);
  const { spool, flight } = await startProducer(ctx, bus, bus.streams.typed, typedSubject);

  const fetcher = new SegmentFetcher();
  ctx.onShutdown(() => fetcher.close());
  // Raw segments are received into reused memory, and decoded into the same lease: the typed
  // tables point into it (decode passes hex through without copying, and writes its computed
  // columns there) until the spool has copied them into its own.
  const rawArena = new SlabArena({ maxBytes: config.CHAINLAKE_TRANSFORMER_CONCURRENCY * RAW_ARENA_MB_PER_SEGMENT * 1024 * 1024 });

  /** Raw segment → typed datasets in the spool; returns the rows and bytes of each. */
  const transform = async (chain: string, from: number, to: number, at: SegmentLocation, urgent: boolean) => {
    const memory = rawArena.lease();
    let typed: Record<string, Table>;
    try {
      const raw = await fetcher.fetch(at, rawDatasetNames, () => reproduceRaw(bus, chain, from, to), memory.allocate);
      const started = performance.now();
      typed = decode(raw as unknown as RawTables, config.CHAINLAKE_CHAIN_ID, memory.allocate) as unknown as Record<string, Table>;
      decodeSeconds.observe((performance.now() - started) / 1000);
    } catch (err) {
      memory.release();
      throw err;
    }
    const key = segmentKey({ chain, from, to });
    const datasets = Object.fromEntries(Object.entries(typed).map(([name, t]) => [name, { rows: t.numRows, bytes: tableBytes(t) }]));
    // The spool gives the raw memory back once it no longer reads the typed tables, also when the put fails.
    // Without spilling: a transformer ahead of its consumers waits for room instead of writing
    // segments to disk and reading them back, as its input waits durably in the stream.
    await spool.put(key, typed, urgent ? { urgent: true, ttlMs: 120_000, memory } : { signal: ctx.signal, spill: false, memory });
    return { key, datasets };
  };

  const consumer = await consumeDurable(bus, {
    stream: bus.streams.raw,
    durable: 'transformer',
    filterSubject: bus.subjects.rawSegments(chainName),
    codec: RawSegmentMessage,
    service: 'transformer',
    ackWaitMs: config.CHAINLAKE_ACK_WAIT_MS,
    concurrency: config.CHAINLAKE_TRANSFORMER_CONCURRENCY,
    onInvalid: (err) => {
      invalid.inc();
      log.warn({ err: err.message }, 'invalid raw segment message dead-lettered');
    },
    handler: async (msg, delivery) => {
      // Waiting for spool room can outlast the ack wait; the segment stays this replica's while it lives.
      const heartbeat = setInterval(() => delivery.working(), config.CHAINLAKE_ACK_WAIT_MS / 3);
      try {
        const { key, datasets } = await transform(msg.chain, msg.from, msg.to, msg, false);
        const { seq } = await publishDurable(bus, typedSubject, TypedSegmentMessage, {
          v: 1, chain: msg.chain, from: msg.from, to: msg.to, datasets, location: flight.location, tickets: segmentTickets(key, Object.keys(datasets)),
        }, `typed:${key}:${msg.headHash}`);
        spool.markAnnounced(key, seq);
        delivery.ack();
        segmentsDone.inc();
        for (const [name, { rows }] of Object.entries(datasets)) rowsOut.inc({ dataset: name }, rows);
      } catch (err) {
        const segment = `${msg.chain}:${msg.from}-${msg.to}`;
        if (err instanceof RowError) {
          // The chain's data itself cannot be decoded: retrying cannot help, an operator must look.
          deadLettered.inc();
          log.error({ segment, err: err.message }, 'raw segment cannot be decoded; dead-lettered');
          await delivery.deadLetter(`${segment}: ${err.message}`);
          return;
        }
        failures.inc();
        log.warn({ segment, err: String(err) }, 'segment failed; handing it back for redelivery');
        delivery.nak(1000);
      } finally {
        clearInterval(heartbeat);
      }
    },
  });
  ctx.onShutdown(() => consumer.stop());
  ctx.readiness('consumer', () => consumer.running);

  const reproducer = serveRequests(bus, bus.subjects.control('transformer', 'reproduce'), {
    queue: 'transformer',
    request: ReproduceRequest,
    reply: ReproduceReply,
    errorReply: (error) => ({ v: 1, ok: false, error }),
    handler: async (req) => {
      const from = await reproduceRaw(bus, req.chain, req.from, req.to);
      const { key, datasets } = await transform(req.chain, req.from, req.to, from, true);
      log.info({ segment: key }, 'typed segment re-produced on request');
      return { v: 1, ok: true, location: flight.location, tickets: segmentTickets(key, Object.keys(datasets)) };
    },
  });
  ctx.onShutdown(() => reproducer.stop());
}

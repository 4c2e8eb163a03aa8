import { Aggregation, DefinitionError, type WindowResult } from '@chainlake/aggregation';
import {
  consumeDurable, DefineRequest, DefinitionReply, DropRequest, ensureStreams, HeadMessage, joinBus, keyValue, objectStore,
  publishDurable, ReorgMessage, ReproduceReply, ReproduceRequest, request, serveRequests, TypedSegmentMessage,
  WindowResultMessage, type Bus, type Delivery, type TypedSegment,
} from '@chainlake/bus';
import { FlightServer } from '@chainlake/flight';
import { SegmentFetcher, type SegmentLocation } from '@chainlake/segments';
import type { ServiceContext } from '@chainlake/service';
import type { AnalyticsConfig } from './config.js';
import { DefinitionRegistry, readDefinitionFile } from './definitions.js';
import { resultsFlightHandlers } from './flight.js';
import { BlockOrder } from './order.js';
import { LatestResults } from './results.js';
import { StateStore } from './state.js';

async function reproduceTyped(bus: Bus, chain: string, from: number, to: number): Promise<SegmentLocation> {
  const reply = await request(bus, bus.subjects.control('transformer', 'reproduce'), ReproduceRequest, ReproduceReply, { v: 1, chain, from, to }, 90_000);
  if (!reply.ok) throw new Error(`transformer could not re-produce ${chain}:${from}-${to}: ${reply.error}`);
  return reply;
}

const resultKey = (r: WindowResult): string => `${r.definition}:${r.windowStart}:${JSON.stringify(r.group)}:${r.revision}`;

export async function startAnalytics(ctx: ServiceContext<AnalyticsConfig>): Promise<void> {
  const { config, log, metrics } = ctx;
  const chainName = config.CHAINLAKE_CHAIN;
  const published = metrics.counter('results_published_total', 'Window results published', ['definition']);
  const segmentsDone = metrics.counter('segments_aggregated_total', 'Typed segments added to every definition');
  const rejectedDefinitions = metrics.counter('definitions_rejected_total', 'Definitions refused as invalid');
  const lateRows = metrics.gauge('late_rows_dropped', 'Rows that arrived after their window closed', ['definition']);
  const definitionCount = metrics.gauge('definitions', 'Definitions being computed');
  const invalid = metrics.counter('invalid_messages_total', 'Messages rejected as invalid and dead-lettered');
  const gapsSkipped = metrics.counter('gaps_skipped_total', 'Block ranges given up on after waiting for them');
  const waitingSegments = metrics.gauge('waiting_segments', 'Segments waiting for an earlier one');

  const bus = await joinBus(ctx);
  await ensureStreams(bus);
  const state = await StateStore.open(await objectStore(bus, 'analytics_state'));
  const fetcher = new SegmentFetcher();
  ctx.onShutdown(() => fetcher.close());

  const engines = new Map<string, Aggregation>();
  const latest = new LatestResults();
  // Every change of the engines (rows, reorgs, definitions, checkpoints) runs one at a time.
  let queue: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(work: () => Promise<T> | T): Promise<T> => {
    const run = queue.then(work);
    queue = run.catch(() => undefined);
    return run;
  };

  const publish = async (results: WindowResult[]): Promise<void> => {
    for (const r of results) {
      await publishDurable(bus, bus.subjects.analytics(r.definition), WindowResultMessage, { v: 1, ...r }, resultKey(r));
      published.inc({ definition: r.definition });
      latest.record(r);
    }
  };

  const registry = new DefinitionRegistry(
    await keyValue(bus, 'analytics_definitions'),
    (name, definition) =>
      exclusive(() => {
        engines.delete(name);
        latest.forget(name);
        if (definition) engines.set(name, state.restore(definition) ?? new Aggregation(definition));
        definitionCount.set(engines.size);
        log.info({ definition: name, active: definition !== undefined }, definition ? 'definition active' : 'definition dropped');
      }),
    log,
  );
  await registry.follow(ctx.signal);

  const define = async (input: unknown): Promise<{ ok: true; name: string } | { ok: false; error: string }> => {
    try {
      return { ok: true, name: (await registry.define(input)).name };
    } catch (err) {
      if (!(err instanceof DefinitionError)) throw err;
      rejectedDefinitions.inc();
      return { ok: false, error: err.message };
    }
  };
  if (config.CHAINLAKE_ANALYTICS_DEFINITIONS) {
    for (const input of await readDefinitionFile(config.CHAINLAKE_ANALYTICS_DEFINITIONS)) {
      const outcome = await define(input);
      if (!outcome.ok) log.error({ file: config.CHAINLAKE_ANALYTICS_DEFINITIONS, err: outcome.error }, 'definition in file refused; the others go on');
    }
  }

  const servers = [
    serveRequests(bus, bus.subjects.control('analytics', 'define'), {
      queue: 'analytics', request: DefineRequest, reply: DefinitionReply,
      errorReply: (error) => ({ v: 1, ok: false, error }),
      handler: async (req) => ({ v: 1, ...(await define(req.definition)) }),
    }),
    serveRequests(bus, bus.subjects.control('analytics', 'drop'), {
      queue: 'analytics', request: DropRequest, reply: DefinitionReply,
      errorReply: (error) => ({ v: 1, ok: false, error }),
      handler: async (req) =>
        (await registry.drop(req.name)) ? { v: 1, ok: true, name: req.name } : { v: 1, ok: false, error: `no definition named "${req.name}"` },
    }),
  ];
  for (const s of servers) ctx.onShutdown(() => s.stop());

  ctx.http.get('/definitions', async () => registry.list());
  ctx.http.post('/definitions', async (req, reply) => {
    const outcome = await define(req.body);
    return outcome.ok ? reply.code(201).send(outcome) : reply.code(400).send(outcome);
  });
  ctx.http.delete<{ Params: { name: string } }>('/definitions/:name', async (req, reply) =>
    (await registry.drop(req.params.name)) ? reply.code(204).send() : reply.code(404).send({ error: `no definition named "${req.params.name}"` }),
  );
  ctx.http.get<{ Params: { name: string } }>('/results/:name', async (req, reply) => {
    const engine = engines.get(req.params.name);
    if (!engine) return reply.code(404).send({ error: `no definition named "${req.params.name}"` });
    return { definition: req.params.name, results: latest.of(req.params.name), open: engine.current() };
  });

  const flight = new FlightServer(resultsFlightHandlers((name) => (engines.has(name) ? latest.of(name) : undefined)), {
    host: config.CHAINLAKE_HOST,
    advertiseHost: config.CHAINLAKE_ADVERTISE_HOST,
    port: config.CHAINLAKE_FLIGHT_PORT,
    onError: (rpc, err) => log.warn({ rpc, err: String(err) }, 'flight call failed'),
  });
  await flight.start();
  ctx.onShutdown(() => flight.stop(2000));
  ctx.readiness('flight', () => flight.serving);
  log.info({ location: flight.location }, 'flight listening');

  /** Deliveries whose effects are in the engines but not yet in a checkpoint: acked after the next one. */
  let unsaved: Delivery[] = [];
  const checkpoint = () =>
    exclusive(async () => {
      if (unsaved.length === 0) return;
      await state.save(engines, order.next);
      for (const d of unsaved) d.ack();
      unsaved = [];
      for (const [name, engine] of engines) lateRows.set({ definition: name }, engine.lateRowsDropped);
    });
  const timer = setInterval(() => void checkpoint().catch((err) => log.error({ err: String(err) }, 'checkpoint failed')), config.CHAINLAKE_ANALYTICS_CHECKPOINT_INTERVAL_MS);
  ctx.onShutdown(async () => {
    clearInterval(timer);
    await checkpoint();
  });

  interface Pending { from: number; to: number; msg: TypedSegment; delivery: Delivery }
  const order = new BlockOrder<Pending>(state.nextBlock, config.CHAINLAKE_ANALYTICS_MAX_GAP_WAIT_MS || 2 * config.CHAINLAKE_ACK_WAIT_MS);

  const apply = async ({ msg, delivery }: Pending): Promise<void> => {
    const needed = [...new Set([...engines.values()].map((e) => e.definition.dataset))].filter((d) => d in msg.tickets);
    const tables = needed.length > 0 ? await fetcher.fetch(msg, needed, () => reproduceTyped(bus, msg.chain, msg.from, msg.to)) : {};
    const results: WindowResult[] = [];
    for (const engine of engines.values()) {
      const table = tables[engine.definition.dataset];
      if (!table) continue;
      for (const batch of table.batches) engine.add(batch);
      results.push(...engine.fire());
    }
    state.markApplied(`typed:${delivery.streamSeq}`);
    unsaved.push(delivery);
    await publish(results);
    segmentsDone.inc();
  };
  const applyReady = () =>
    exclusive(async () => {
      const { ready, skipped } = order.take();
      for (const gap of skipped) {
        gapsSkipped.inc();
        log.warn(gap, 'blocks never arrived; going on without them');
      }
      for (const pending of ready) await apply(pending);
      waitingSegments.set(order.size);
    });
  const orderTimer = setInterval(() => void applyReady().catch((err) => log.error({ err: String(err) }, 'applying segments failed')), 500);
  ctx.onShutdown(() => clearInterval(orderTimer));

  const segments = await consumeDurable(bus, {
    stream: bus.streams.typed,
    durable: 'analytics',
    filterSubject: bus.subjects.typedSegments(chainName),
    codec: TypedSegmentMessage,
    service: 'analytics',
    ackWaitMs: config.CHAINLAKE_ACK_WAIT_MS,
    maxAckPending: 10_000,
    onInvalid: () => invalid.inc(),
    handler: async (msg, delivery) => {
      // Counted before a restart (the restored state has it), or a re-announcement of blocks already applied.
      if (state.applied(`typed:${delivery.streamSeq}`)) return delivery.ack();
      if (order.isBehind(msg)) return void exclusive(() => unsaved.push(delivery));
      order.offer({ from: msg.from, to: msg.to, msg, delivery });
      await applyReady();
    },
  });
  ctx.onShutdown(() => segments.stop());
  ctx.readiness('consumer', () => segments.running);

  const reorgs = await consumeDurable(bus, {
    stream: bus.streams.events,
    durable: 'analytics_reorg',
    filterSubject: bus.subjects.reorg(chainName),
    codec: ReorgMessage,
    service: 'analytics',
    ackWaitMs: config.CHAINLAKE_ACK_WAIT_MS,
    onInvalid: () => invalid.inc(),
    handler: async (msg, delivery) => {
      const key = `reorg:${delivery.streamSeq}`;
      if (state.applied(key)) return delivery.ack();
      await exclusive(async () => {
        const results: WindowResult[] = [];
        for (const engine of engines.values()) {
          engine.retract(msg.forkPoint);
          results.push(...engine.fire());
        }
        order.rewind(msg.forkPoint + 1);
        state.markApplied(key);
        unsaved.push(delivery);
        await publish(results);
      });
      log.info({ forkPoint: msg.forkPoint }, 'reorg: rows above the fork point retracted');
    },
  });
  ctx.onShutdown(() => reorgs.stop());

  const heads = bus.nc.subscribe(bus.subjects.head(chainName), {
    callback: (err, msg) => {
      if (err) return;
      try {
        const { finalized } = HeadMessage.decode(msg.data);
        void exclusive(() => {
          for (const engine of engines.values()) engine.forget(finalized);
        });
      } catch {
        invalid.inc();
      }
    },
  });
  ctx.onShutdown(() => heads.unsubscribe());
}

import { Aggregation, type Definition, type WindowResult } from '@chainlake/aggregation';
import {
  consumeDurable, HeadMessage, objectStore, publishCore, publishDurable, ReorgMessage, ReproduceReply, ReproduceRequest, request,
  TypedSegmentMessage, WindowResultMessage, WindowUpdateMessage, type Bus, type Delivery, type DurableConsumer, type TypedSegment,
} from '@chainlake/bus';
import { SegmentFetcher, type SegmentLocation } from '@chainlake/segments';
import type { Metrics } from '@chainlake/service';
import type { Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { AnalyticsConfig } from './config.js';
import { BlockOrder } from './order.js';
import type { LatestResults } from './results.js';
import { StateStore } from './state.js';

/** Results published to JetStream at once (their acks awaited together). */
const PUBLISH_BATCH = 256;

async function reproduceTyped(bus: Bus, chain: string, from: number, to: number): Promise<SegmentLocation> {
  const reply = await request(bus, bus.subjects.control('transformer', 'reproduce'), ReproduceRequest, ReproduceReply, { v: 1, chain, from, to }, 90_000);
  if (!reply.ok) throw new Error(`transformer could not re-produce ${chain}:${from}-${to}: ${reply.error}`);
  return reply;
}

const resultKey = (r: WindowResult): string => `${r.definition}:${r.windowStart}:${JSON.stringify(r.group)}:${r.revision}`;

export interface ComputationHost {
  bus: Bus;
  config: AnalyticsConfig;
  log: Logger;
  metrics: Metrics;
  latest: LatestResults;
  /** False once this replica may no longer trust its leadership: nothing is saved or acked then. */
  mayWrite(): boolean;
}

interface Pending { from: number; to: number; msg: TypedSegment; delivery: Delivery }

function computationMetrics(metrics: Metrics) {
  return {
    published: metrics.counter('results_published_total', 'Window results published', ['definition']),
    early: metrics.counter('early_results_published_total', 'Early (partial) results of open windows published', ['definition']),
    segmentsDone: metrics.counter('segments_aggregated_total', 'Typed segments added to every definition'),
    lateRows: metrics.gauge('late_rows_dropped', 'Rows that arrived after their window closed', ['definition']),
    definitionCount: metrics.gauge('definitions', 'Definitions being computed'),
    invalid: metrics.counter('invalid_messages_total', 'Messages rejected as invalid and dead-lettered'),
    gapsSkipped: metrics.counter('gaps_skipped_total', 'Block ranges given up on after waiting for them'),
    waitingSegments: metrics.gauge('waiting_segments', 'Segments waiting for an earlier one'),
  };
}

/**
 * The computing half of the service, run by the replica that holds the lease: the engines, fed by
 * the durable consumer `analytics` in block order, their results published, their state saved
 * every checkpoint interval (the segments acked after the save that includes them), early results
 * published on a timer per definition. Started from the last saved state; stopped either cleanly
 * (a last checkpoint) or, after losing the lease, without writing anything.
 */
export class Computation {
  private readonly engines = new Map<string, Aggregation>();
  private readonly fetcher = new SegmentFetcher();
  private readonly earlyTimers = new Map<string, NodeJS.Timeout>();
  private readonly earlyBusy = new Set<string>();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly consumers: DurableConsumer[] = [];
  private heads: Subscription | undefined;
  private state!: StateStore;
  private order!: BlockOrder<Pending>;
  /** Deliveries whose effects are in the engines but not yet in a checkpoint: acked after the next one. */
  private unsaved: Delivery[] = [];
  private stopped = false;
  private saving = false;
  private nextCheckpointAt = 0;
  // Every change of the engines (rows, reorgs, definitions, checkpoints) runs one at a time.
  private queue: Promise<unknown> = Promise.resolve();
  private readonly m: ReturnType<typeof computationMetrics>;

  constructor(private readonly host: ComputationHost) {
    this.m = computationMetrics(host.metrics);
  }

  private exclusive<T>(work: () => Promise<T> | T): Promise<T> {
    const run = this.queue.then(work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  get running(): boolean {
    return !this.stopped && this.consumers.every((c) => c.running);
  }

  engine(name: string): Aggregation | undefined {
    return this.engines.get(name);
  }

  /** Restores the saved state for the definitions `definitions()` lists when it runs, then starts consuming. */
  async start(definitions: () => Definition[]): Promise<void> {
    const { bus, config, log } = this.host;
    await this.exclusive(async () => {
      this.state = await StateStore.open(await objectStore(bus, 'analytics_state'));
      for (const d of definitions()) this.apply(d.name, d);
    });
    this.order = new BlockOrder<Pending>(this.state.nextBlock, config.CHAINLAKE_ANALYTICS_MAX_GAP_WAIT_MS || 2 * config.CHAINLAKE_ACK_WAIT_MS);
    const every = (ms: number, what: string, work: () => Promise<void>) =>
      this.timers.push(setInterval(() => void work().catch((err) => log.error({ err: String(err) }, `${what} failed`)), ms));
    every(config.CHAINLAKE_ANALYTICS_CHECKPOINT_INTERVAL_MS, 'checkpoint', () => this.checkpoint());
    every(500, 'applying segments', () => this.applyReady());

    const chainName = config.CHAINLAKE_CHAIN;
    this.consumers.push(
      await consumeDurable(bus, {
        stream: bus.streams.typed,
        durable: 'analytics',
        filterSubject: bus.subjects.typedSegments(chainName),
        codec: TypedSegmentMessage,
        service: 'analytics',
        ackWaitMs: config.CHAINLAKE_ACK_WAIT_MS,
        maxAckPending: 10_000,
        onInvalid: () => this.m.invalid.inc(),
        handler: async (msg, delivery) => {
          // Counted before a restart (the restored state has it), or a re-announcement of blocks already applied.
          if (this.state.applied(`typed:${delivery.streamSeq}`)) return delivery.ack();
          if (this.order.isBehind(msg)) return void this.exclusive(() => this.unsaved.push(delivery));
          this.order.offer({ from: msg.from, to: msg.to, msg, delivery });
          await this.applyReady();
        },
      }),
      await consumeDurable(bus, {
        stream: bus.streams.events,
        durable: 'analytics_reorg',
        filterSubject: bus.subjects.reorg(chainName),
        codec: ReorgMessage,
        service: 'analytics',
        ackWaitMs: config.CHAINLAKE_ACK_WAIT_MS,
        onInvalid: () => this.m.invalid.inc(),
        handler: (msg, delivery) => this.reorg(msg.forkPoint, delivery),
      }),
    );
    this.heads = bus.nc.subscribe(bus.subjects.head(chainName), {
      callback: (err, msg) => {
        if (err) return;
        try {
          const { finalized } = HeadMessage.decode(msg.data);
          void this.exclusive(() => {
            for (const engine of this.engines.values()) engine.forget(finalized);
          });
        } catch {
          this.m.invalid.inc();
        }
      },
    });
  }

  /** A definition added, changed or (undefined) dropped. */
  define(name: string, definition: Definition | undefined): Promise<void> {
    return this.exclusive(() => {
      if (!this.stopped) this.apply(name, definition);
    });
  }

  private apply(name: string, definition: Definition | undefined): void {
    const current = this.engines.get(name);
    // The same definition stored again (a replica loading the same file): keep counting where it is.
    if (current && definition && JSON.stringify(current.definition) === JSON.stringify(definition)) return;
    this.engines.delete(name);
    // Results of a replaced or dropped definition go; those mirrored while standing by stay.
    if (current || !definition) this.host.latest.forget(name);
    clearInterval(this.earlyTimers.get(name));
    this.earlyTimers.delete(name);
    if (definition) {
      this.engines.set(name, this.state.restore(definition) ?? new Aggregation(definition));
      if (definition.earlyResultsMs !== undefined) {
        this.earlyTimers.set(name, setInterval(() => this.publishEarly(name), definition.earlyResultsMs));
      }
    }
    this.m.definitionCount.set(this.engines.size);
    this.host.log.info({ definition: name, active: definition !== undefined }, definition ? 'definition active' : 'definition dropped');
  }

  private async publish(results: WindowResult[]): Promise<void> {
    const { bus, latest } = this.host;
    for (let i = 0; i < results.length; i += PUBLISH_BATCH) {
      const batch = results.slice(i, i + PUBLISH_BATCH);
      // Sent in order on one connection, so the stream keeps them in order; only the acks are awaited together.
      await Promise.all(batch.map((r) => publishDurable(bus, bus.subjects.analytics(r.definition), WindowResultMessage, { v: 1, ...r }, resultKey(r))));
      for (const r of batch) {
        this.m.published.inc({ definition: r.definition });
        latest.record(r);
      }
    }
  }

  private publishEarly(name: string): void {
    if (this.earlyBusy.has(name)) return;
    this.earlyBusy.add(name);
    const { bus, log } = this.host;
    void this.exclusive(() => {
      const engine = this.engines.get(name);
      if (!engine || this.stopped) return;
      const subject = bus.subjects.analyticsUpdates(name);
      for (const { revision: _revision, ...r } of engine.early()) {
        publishCore(bus, subject, WindowUpdateMessage, { v: 1, ...r, early: true });
        this.m.early.inc({ definition: name });
      }
    })
      .catch((err) => log.error({ definition: name, err: String(err) }, 'early results failed'))
      .finally(() => this.earlyBusy.delete(name));
  }

  /**
   * Saves the state and then acks the segments it includes. The copy is taken between two changes;
   * serializing and storing it (most of the cost) runs while segments go on being applied. A save
   * that took t ms is followed by the next one no sooner than 9·t later (saving at most ~10% of the
   * time as the state grows), and always within a third of the ack wait.
   */
  private async checkpoint(force = false): Promise<void> {
    if (this.saving || (!force && performance.now() < this.nextCheckpointAt)) return;
    this.saving = true;
    try {
      const captured = await this.exclusive(() => {
        if (this.unsaved.length === 0 || this.stopped) return undefined;
        if (!this.host.mayWrite()) throw new Error('lease not confirmed; checkpoint postponed');
        const deliveries = this.unsaved;
        this.unsaved = [];
        return { state: this.state.capture(this.engines, this.order.next), deliveries };
      });
      if (!captured) return;
      const started = performance.now();
      try {
        await this.state.write(captured.state);
      } catch (err) {
        // Acked after a later save, which holds their effects too.
        this.unsaved.push(...captured.deliveries);
        throw err;
      }
      const took = performance.now() - started;
      this.nextCheckpointAt = performance.now() + Math.min(9 * took, this.host.config.CHAINLAKE_ACK_WAIT_MS / 3);
      // Acks only while the lease still holds: a successor may have restored an older state, and must then see these again.
      if (this.host.mayWrite()) for (const d of captured.deliveries) d.ack();
      else for (const d of captured.deliveries) d.nak();
      for (const [name, engine] of this.engines) this.m.lateRows.set({ definition: name }, engine.lateRowsDropped);
    } finally {
      this.saving = false;
    }
  }

  private async applySegment({ msg, delivery }: Pending): Promise<void> {
    const needed = [...new Set([...this.engines.values()].map((e) => e.definition.dataset))].filter((d) => d in msg.tickets);
    const tables = needed.length > 0 ? await this.fetcher.fetch(msg, needed, () => reproduceTyped(this.host.bus, msg.chain, msg.from, msg.to)) : {};
    const results: WindowResult[] = [];
    for (const engine of this.engines.values()) {
      const table = tables[engine.definition.dataset];
      if (!table) continue;
      for (const batch of table.batches) engine.add(batch);
      results.push(...engine.fire());
    }
    this.state.markApplied(`typed:${delivery.streamSeq}`);
    this.unsaved.push(delivery);
    await this.publish(results);
    this.m.segmentsDone.inc();
  }

  private applyReady(): Promise<void> {
    return this.exclusive(async () => {
      if (this.stopped) return;
      const { ready, skipped } = this.order.take();
      for (const gap of skipped) {
        this.m.gapsSkipped.inc();
        this.host.log.warn(gap, 'blocks never arrived; going on without them');
      }
      for (const pending of ready) await this.applySegment(pending);
      this.m.waitingSegments.set(this.order.size);
    });
  }

  private async reorg(forkPoint: number, delivery: Delivery): Promise<void> {
    const key = `reorg:${delivery.streamSeq}`;
    if (this.state.applied(key)) return delivery.ack();
    await this.exclusive(async () => {
      const results: WindowResult[] = [];
      for (const engine of this.engines.values()) {
        engine.retract(forkPoint);
        results.push(...engine.fire());
      }
      this.order.rewind(forkPoint + 1);
      this.state.markApplied(key);
      this.unsaved.push(delivery);
      await this.publish(results);
    });
    this.host.log.info({ forkPoint }, 'reorg: rows above the fork point retracted');
  }

  /**
   * Stops consuming. `save`: a last checkpoint, as at shutdown. Without it (the lease was lost)
   * nothing more is written and the segments not yet saved are handed back for redelivery.
   */
  async stop({ save }: { save: boolean }): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    for (const t of this.earlyTimers.values()) clearInterval(t);
    this.heads?.unsubscribe();
    await Promise.all(this.consumers.map((c) => c.stop()));
    if (save) {
      while (this.saving) await new Promise((resolve) => setTimeout(resolve, 10));
      await this.checkpoint(true).catch((err) => this.host.log.error({ err: String(err) }, 'last checkpoint failed'));
    }
    await this.exclusive(() => {
      this.stopped = true;
      for (const d of this.unsaved) d.nak();
      this.unsaved = [];
      for (const pending of this.order?.drain() ?? []) pending.delivery.nak();
    });
    this.fetcher.close();
  }
}
